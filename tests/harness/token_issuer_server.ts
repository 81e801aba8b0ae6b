// The token issuer's process (started by token_issuer.ts; its own process because the tests
// call the CLI and skopeo synchronously, which would stall a server in the test's own loop).
//   node --import tsx token_issuer_server.ts <port> <key.pem> <cert.pem> <issuer> <user> <password>
// Checks Basic credentials and signs an RS256 JWT granting the requested repository scopes;
// logs one line per token issued.
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { randomUUID, sign } from "node:crypto";

const [port, keyFile, certFile, issuer, username, password] = process.argv.slice(2);
const privateKey = readFileSync(keyFile, "utf8");
// x5c: the signing certificate (base64 DER), which the registry checks against its bundle.
const certDer = readFileSync(certFile, "utf8").replace(/-----[^-]+-----|\s/g, "");
const expected = "Basic " + Buffer.from(`${username}:${password}`).toString("base64");
const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://issuer");
  if (url.pathname !== "/token" || req.headers.authorization !== expected) {
    console.log(`refused ${url.pathname}`);
    res.writeHead(401, { "content-type": "application/json" }).end(`{"details":"wrong credentials"}`);
    return;
  }
  // scope=repository:<name>:<actions>, possibly several.
  const access = url.searchParams.getAll("scope").map((scope) => {
    const [type, name, actions] = scope.split(":");
    return { type, name, actions: actions.split(",") };
  });
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: "JWT", alg: "RS256", x5c: [certDer] };
  const claims = { iss: issuer, sub: username, aud: url.searchParams.get("service"), exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access };
  const signed = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const token = `${signed}.${b64url(sign("sha256", Buffer.from(signed), privateKey))}`;
  console.log(`issued ${url.searchParams.getAll("scope").join(" ")}`);
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token, expires_in: 300 }));
}).listen(Number(port), "127.0.0.1", () => console.log("listening"));
