// A Docker token-auth issuer for the registry tests (the role Harbor's, GHCR's or Docker Hub's
// auth service plays), in its own process (token_issuer_server.ts). The registry (Debian's
// docker-registry) verifies each token itself against the issuer's certificate in its
// `auth.token.rootcertbundle`, so a token it accepts is a real one.
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { ROOT } from "./paths.ts";
import { Service, freePort, waitFor } from "./process.ts";

export interface TokenIssuer {
  realm: string;
  service: string;
  issuer: string;
  // The issuer's self-signed certificate (PEM), for the registry's rootcertbundle.
  certFile: string;
  // Tokens issued so far (the tests check that a push did go through the issuer).
  issued(): number;
  stop(): Promise<void>;
}

export async function startTokenIssuer(dir: string, user: { username: string; password: string }): Promise<TokenIssuer> {
  const key = join(dir, "token.key");
  const certFile = join(dir, "token.crt");
  const r = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certFile,
    "-days", "2", "-subj", "/CN=kafka-proxy-wasm test token issuer"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl failed:\n${r.stderr}`);
  const port = await freePort();
  const issuer = "kafka-proxy-wasm-test-issuer";
  const service = new Service("token-issuer", join(dir, "token-issuer.log"), process.execPath,
    ["--import", "tsx", join(ROOT, "tests/harness/token_issuer_server.ts"), String(port), key, certFile, issuer, user.username, user.password]);
  await waitFor("the token issuer to listen", async () => service.log().includes("listening"), 20000, service);
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service: "kafka-proxy-wasm-test-registry",
    issuer,
    certFile,
    issued: () => service.log().split("\n").filter((l) => l.startsWith("issued ")).length,
    stop: () => service.stop(),
  };
}
