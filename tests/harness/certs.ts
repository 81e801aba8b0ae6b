// Certificates for the mTLS tests, made with the machine's openssl: a CA, a server certificate
// for Envoy's listener (127.0.0.1) and client certificates carrying a SPIFFE id as URI SAN, the
// way Istio issues workload certificates.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

export interface CertPair {
  cert: string;
  key: string;
}

export interface TestCerts {
  ca: string;
  server: CertPair;
  // A client certificate with subject O=kafka-proxy-wasm, CN=`name` (an empty subject when
  // `anonymous`), and `spiffeId` as its URI SAN (none when it is empty).
  client(name: string, spiffeId: string, anonymous?: boolean): CertPair;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed:\n${r.stderr}`);
}

// Signs a new key's certificate with the CA; `ext` is the extensions section (SANs).
function issue(dir: string, name: string, subject: string, ext: string): CertPair {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-subj", subject, "-out", csr], dir);
  openssl(["x509", "-req", "-in", csr, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
    "-sha256", "-extfile", extFile, "-out", cert], dir);
  return { cert, key };
}

export function makeCerts(dir: string): TestCerts {
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
    "-subj", "/CN=kafka-proxy-wasm test CA"], dir);
  const server = issue(dir, "server", "/CN=localhost",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  return {
    ca: join(dir, "ca.crt"),
    server,
    client: (name, spiffeId, anonymous = false) => issue(dir, name, anonymous ? "/" : `/O=kafka-proxy-wasm/CN=${name}`,
      `${spiffeId ? `subjectAltName=URI:${spiffeId}\n` : ""}extendedKeyUsage=clientAuth\n`),
  };
}
