// HTTP requests to one repository of an OCI registry, answering its authentication challenge
// (distribution spec / Docker token auth): a 401 names either `Basic` (send the credentials) or
// `Bearer realm=...,service=...` (get a token for the repository from that realm, with the
// credentials if any). The answer is kept for the requests that follow.
import type { ImageRef } from "./oci.ts";

export interface Credentials {
  username: string;
  password: string;
}

export const CREDENTIAL_VARIABLES = ["KAFKA_PROXY_WASM_REGISTRY_USER", "KAFKA_PROXY_WASM_REGISTRY_PASSWORD"] as const;

// From the environment, so passwords stay off command lines; both or neither.
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const [user, password] = CREDENTIAL_VARIABLES.map((v) => env[v]);
  if (!user && !password) return undefined;
  if (!user || !password) throw new Error(`set both ${CREDENTIAL_VARIABLES.join(" and ")}, or neither`);
  return { username: user, password };
}

// `Bearer realm="https://auth.example/token",service="registry.example"` -> scheme and parameters.
function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const scheme = /^\s*(\S+)/.exec(header)?.[1]?.toLowerCase() ?? "";
  const params: Record<string, string> = {};
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) params[m[1].toLowerCase()] = m[2];
  return { scheme, params };
}

export class RegistryClient {
  private authorization?: string;

  constructor(readonly image: ImageRef, private credentials?: Credentials) {}

  // Bodies are Buffers, so a request refused with 401 can be sent again once answered.
  async fetch(url: string | URL, init: { method: string; body?: Buffer; headers?: Record<string, string> }): Promise<Response> {
    // (A Buffer is a Uint8Array, which fetch sends as it is; Node's types do not say so.)
    const send = () => fetch(url, { ...init, body: init.body as BodyInit | undefined, headers: { ...init.headers, ...(this.authorization ? { authorization: this.authorization } : {}) } });
    const res = await send();
    if (res.status !== 401) return res;
    await res.body?.cancel();
    this.authorization = await this.answer(res.headers.get("www-authenticate") ?? "");
    return send();
  }

  private basic(): string {
    if (!this.credentials) {
      throw new Error(`${this.image.registry} asks for credentials: set ${CREDENTIAL_VARIABLES.join(" and ")}`);
    }
    return "Basic " + Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString("base64");
  }

  private async answer(header: string): Promise<string> {
    const { scheme, params } = parseChallenge(header);
    if (scheme === "basic") return this.basic();
    if (scheme !== "bearer" || !params.realm) throw new Error(`${this.image.registry} answered 401 with an unknown challenge "${header}"`);
    const realm = new URL(params.realm);
    if (params.service) realm.searchParams.set("service", params.service);
    // One token for everything push does in this repository.
    realm.searchParams.set("scope", `repository:${this.image.repository}:pull,push`);
    // Anonymous token requests are allowed by some registries; credentials go along when given.
    const res = await fetch(realm, { headers: this.credentials ? { authorization: this.basic() } : {} });
    if (!res.ok) {
      const hint = this.credentials ? "" : ` (no credentials given: set ${CREDENTIAL_VARIABLES.join(" and ")})`;
      throw new Error(`token request to ${realm.origin}${realm.pathname}: HTTP ${res.status} ${await res.text()}${hint}`);
    }
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new Error(`token request to ${realm.origin}${realm.pathname}: no token in the answer`);
    return `Bearer ${token}`;
  }
}
