// Who is on a connection, as Kafka would name them ("User:<name>"), from the sources the
// configuration lists, first match wins: the mTLS peer certificate's URI SAN (the SPIFFE id
// Istio issues) or subject, the SASL username the broker accepted, or the request's client id.
import { readProperty } from "../proxy/host_memory";
import { ByteBuffer } from "../kafka/byte_buffer";
import { ANONYMOUS, PrincipalSource } from "./principal_source";

// SASL PLAIN: "authzid NUL authcid NUL password"; the principal is the authcid.
function plainUser(ptr: usize, len: i32): string | null {
  let first = -1;
  for (let i = 0; i < len; i++) {
    if (load<u8>(ptr + <usize>i) != 0) continue;
    if (first < 0) {
      first = i;
      continue;
    }
    return String.UTF8.decodeUnsafe(ptr + <usize>(first + 1), <usize>(i - first - 1));
  }
  return null;
}

// SASL SCRAM client-first-message: "<gs2 header>,n=<user>,r=<nonce>" with ',' and '=' in the
// name escaped as =2C and =3D (RFC 5802).
function scramUser(ptr: usize, len: i32): string | null {
  const text = String.UTF8.decodeUnsafe(ptr, <usize>len);
  const at = text.indexOf(",n=");
  if (at < 0) return null;
  let end = text.indexOf(",", at + 3);
  if (end < 0) end = text.length;
  // Unescaped by hand: String#replaceAll is a large part of the module for this one use.
  let user = "";
  let from = at + 3;
  for (let i = text.indexOf("=", from); i >= 0 && i < end; i = text.indexOf("=", from)) {
    const code = text.substr(i + 1, 2);
    if (code != "2C" && code != "3D") return null; // not a valid saslname: no principal from it
    user += text.substring(from, i) + (code == "2C" ? "," : "=");
    from = i + 3;
  }
  return user + text.substring(from, end);
}

function userOf(value: string | null): string | null {
  return value !== null && value.length > 0 ? "User:" + value : null;
}

export class Principal {
  private tlsRead: bool = false;
  private mtls: bool = false;
  // "User:<value>", made once: callers may compare principals by identity.
  private uriSan: string | null = null;
  private subject: string | null = null;
  private mechanism: string = "";
  // The user of the SaslAuthenticate request in flight, adopted when the broker accepts it.
  private pendingSasl: string | null = null;
  // SaslAuthenticate requests awaiting their answer, oldest in bit 0: set for a SCRAM client-first.
  private firstLegs: u32 = 0;
  private inFlight: i32 = 0;
  private saslUser: string | null = null;
  // The last principal named from a client id, reused while the client id stays the same.
  private lastClientId: ByteBuffer = new ByteBuffer();
  private lastFromClientId: string = "";

  // Whether the configuration names a certificate source (only then are certificates read).
  private tlsSources: bool = false;

  constructor(private sources: StaticArray<i32>) {
    for (let i = 0; i < sources.length; i++) {
      const s = unchecked(sources[i]);
      if (s == PrincipalSource.MtlsUriSan || s == PrincipalSource.MtlsSubject) this.tlsSources = true;
    }
  }

  release(): void {
    this.lastClientId.release();
  }

  saslMechanism(ptr: usize, len: i32): void {
    this.mechanism = String.UTF8.decodeUnsafe(ptr, <usize>len);
  }

  saslToken(ptr: usize, len: i32): void {
    let clientFirst = false;
    if (this.mechanism == "PLAIN") this.pendingSasl = plainUser(ptr, len);
    else if (this.mechanism.startsWith("SCRAM-")) {
      // Only the client-first message names the user; the client-final one keeps it.
      const user = scramUser(ptr, len);
      if (user !== null) {
        this.pendingSasl = user;
        clientFirst = true;
      }
    }
    // Which answer is which: requests may be pipelined, answers come in their order.
    if (this.inFlight == 32) this.pendingSasl = this.saslUser = null; // no client does this: trust nobody
    else this.firstLegs |= (clientFirst ? 1 : 0) << this.inFlight++;
  }

  // The broker's SaslAuthenticate answer: the pending user counts only once accepted. SCRAM's
  // first answer (server-first) comes before the client proved anything, so only an answer to
  // a later message (client-final) adopts the user.
  saslResult(errorCode: i16): void {
    if (this.inFlight == 0) return;
    const answersClientFirst = (this.firstLegs & 1) != 0;
    this.firstLegs >>= 1;
    this.inFlight--;
    if (errorCode != 0) this.pendingSasl = null;
    else if (!answersClientFirst && this.pendingSasl !== null) this.saslUser = "User:" + this.pendingSasl!;
  }

  // The principal for a request whose header carries `clientId` (null when it has none).
  name(clientIdPtr: usize, clientIdLen: i32): string {
    for (let i = 0; i < this.sources.length; i++) {
      const source = unchecked(this.sources[i]);
      if (source == PrincipalSource.MtlsUriSan || source == PrincipalSource.MtlsSubject) {
        this.readTls();
        const v = source == PrincipalSource.MtlsUriSan ? this.uriSan : this.subject;
        if (v !== null) return v;
      } else if (source == PrincipalSource.Sasl) {
        if (this.saslUser !== null) return this.saslUser!;
      } else if (clientIdLen > 0 && !this.hasCertificate()) {
        // A client id is whatever the client says: on a connection whose certificate Envoy
        // checked it must not stand in for the certificate (it could name a super user).
        return this.fromClientId(clientIdPtr, clientIdLen);
      }
    }
    return ANONYMOUS;
  }

  private fromClientId(ptr: usize, len: i32): string {
    const last = this.lastClientId;
    if (last.len != len || memory.compare(last.ptr, ptr, <usize>len) != 0) {
      last.clear();
      last.append(ptr, len);
      this.lastFromClientId = "User:" + String.UTF8.decodeUnsafe(ptr, <usize>len);
    }
    return this.lastFromClientId;
  }

  private hasCertificate(): bool {
    if (!this.tlsSources) return false;
    this.readTls();
    return this.mtls;
  }

  // The TLS handshake is over before the first byte of Kafka data, so one read per connection.
  private readTls(): void {
    if (this.tlsRead) return;
    this.tlsRead = true;
    this.uriSan = userOf(readProperty("connection\0uri_san_peer_certificate"));
    this.subject = userOf(readProperty("connection\0subject_peer_certificate"));
    // Envoy's attribute: TLS with a peer certificate (a bool, one byte), even one naming nobody.
    const mtls = readProperty("connection\0mtls");
    this.mtls = (mtls !== null && mtls.length == 1 && mtls.charCodeAt(0) == 1) || this.uriSan !== null || this.subject !== null;
  }
}
