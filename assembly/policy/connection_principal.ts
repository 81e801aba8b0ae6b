// Who is on a connection, as Kafka would name them ("User:<name>"), from the sources the
// configuration lists, first match wins: the mTLS peer certificate's URI SAN (the SPIFFE id
// Istio issues) or subject, the SASL username the broker accepted, or the request's client id.
import { readProperty } from "../proxy/host_memory";
import { ANONYMOUS, PrincipalSource } from "./principal_source";

// How many client ids a connection's principals are remembered for.
const CLIENT_ID_SLOTS = 4;

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

// SASL SCRAM client-first-message, as Kafka's ScramMessages reads it: "n," or "y,", an optional
// "a=<authzid>", then ",n=<user>,r=<nonce>" and extensions, with ',' and '=' in the name escaped
// as =2C and =3D (RFC 5802). Anything else (the client-final message "c=...,r=...,p=...") is not
// a client-first message, whatever ",n=" it carries in its extensions: null. A client-first
// message whose name is not a valid saslname, or that logs in with a delegation token (whose
// principal is the token's owner, not the name the filter sees), names nobody: "".
function scramFirst(ptr: usize, len: i32): string | null {
  const text = String.UTF8.decodeUnsafe(ptr, <usize>len);
  const c = text.charCodeAt(0);
  if ((c != 0x6e && c != 0x79) || text.charCodeAt(1) != 0x2c) return null; // "n," or "y,"
  const at = text.startsWith("a=", 2) ? text.indexOf(",", 2) : 2;
  if (at < 0 || !text.startsWith(",n=", at)) return null;
  let end = text.indexOf(",", at + 3);
  if (end < 0) end = text.length;
  if (text.indexOf(",tokenauth=", end) >= 0) return "";
  // Unescaped by hand: String#replaceAll is a large part of the module for this one use.
  let user = "";
  let from = at + 3;
  for (let i = text.indexOf("=", from); i >= 0 && i < end; i = text.indexOf("=", from)) {
    const code = text.substr(i + 1, 2);
    if (code != "2C" && code != "3D") return ""; // not a valid saslname
    user += text.substring(from, i) + (code == "2C" ? "," : "=");
    from = i + 3;
  }
  return user + text.substring(from, end);
}

function userOf(value: string | null): string | null {
  return value !== null && value.length > 0 ? "User:" + value : null;
}

// SASL requests a connection may have awaiting their answers. Clients send one leg at a time;
// more is an attack on the bookkeeping, refused rather than forgotten.
export const MAX_SASL_IN_FLIGHT = 8;

export class Principal {
  private tlsRead: bool = false;
  private mtls: bool = false;
  // "User:<value>", made once: callers may compare principals by identity.
  private uriSan: string | null = null;
  private subject: string | null = null;
  private mechanism: string = "";
  // Whether the configuration names SASL; then the SASL exchange below is followed.
  private saslSource: bool = false;
  // The connection sent a SaslHandshake or SaslAuthenticate: from then on the principal is the
  // SASL user or nobody, never a client id (which the broker does not go by either).
  private saslStarted: bool = false;
  // The user the broker accepted: once set, nothing changes it (Kafka keeps the principal of the
  // first login; a re-authentication naming someone else fails and closes the connection).
  private saslUser: string | null = null;
  // A login the broker refused before any was accepted: Kafka closes such connections, so no
  // later answer on this one is believed.
  private saslFailed: bool = false;
  // The SASL requests awaiting their answers, oldest at `head`, each with the user its answer
  // logs in when it accepts it: "" for a request whose acceptance logs nobody in (SaslHandshake,
  // SCRAM client-first, a token naming no user the filter can read). Answers come in request
  // order, so each is paired with its own request: a later request never speaks for an earlier one.
  private legUsers: StaticArray<string> | null = null;
  private head: i32 = 0;
  private inFlight: i32 = 0;
  // SCRAM: the user of the latest client-first message, whom its client-final message proves.
  private scramUser: string = "";
  // The user of the SASL request the latest answer was for ("" when it named none).
  answeredUser: string = "";
  // The user of the SaslAuthenticate request being walked (its token is read during the walk).
  private tokenUser: string = "";
  // The last principals named from client ids (their bytes and names), reused while the client
  // id is one of them: a connection may alternate between a few.
  private clientIds: StaticArray<ArrayBuffer | null> = new StaticArray<ArrayBuffer | null>(CLIENT_ID_SLOTS);
  private clientIdNames: StaticArray<string> = new StaticArray<string>(CLIENT_ID_SLOTS);
  private nextClientIdSlot: i32 = 0;

  // Whether the configuration names a certificate source (only then are certificates read).
  private tlsSources: bool = false;

  constructor(private sources: StaticArray<i32>) {
    for (let i = 0; i < sources.length; i++) {
      const s = unchecked(sources[i]);
      if (s == PrincipalSource.MtlsUriSan || s == PrincipalSource.MtlsSubject) this.tlsSources = true;
      else if (s == PrincipalSource.Sasl) this.saslSource = true;
    }
  }

  release(): void {}

  // The SASL mechanism the client asked for ("" before its SaslHandshake).
  get mechanismName(): string {
    return this.mechanism;
  }

  // The certificate's identity (URI SAN, else subject) as a principal, null without one.
  certificateIdentity(): string | null {
    if (!this.tlsSources) return null;
    this.readTls();
    return this.uriSan !== null ? this.uriSan : this.subject;
  }

  saslMechanism(ptr: usize, len: i32): void {
    this.mechanism = String.UTF8.decodeUnsafe(ptr, <usize>len);
  }

  // The token of the SaslAuthenticate request being walked: PLAIN names its user in every
  // token; SCRAM in the client-first message, and the client-final one proves that user.
  saslToken(ptr: usize, len: i32): void {
    let user = "";
    if (this.mechanism == "PLAIN") {
      const plain = plainUser(ptr, len);
      if (plain !== null) user = plain;
    } else if (this.mechanism.startsWith("SCRAM-")) {
      const first = scramFirst(ptr, len);
      if (first !== null) this.scramUser = first; // its answer (server-first) proves nothing
      else user = this.scramUser;
    }
    this.tokenUser = user;
  }

  // A SaslHandshake or SaslAuthenticate request (walked) goes to the broker (refuses() said there
  // is room for it).
  saslRequest(authenticate: bool): void {
    if (!this.saslSource) return;
    this.saslStarted = true;
    let users = this.legUsers;
    if (users === null) this.legUsers = users = new StaticArray<string>(MAX_SASL_IN_FLIGHT);
    unchecked(users[(this.head + this.inFlight++) % MAX_SASL_IN_FLIGHT] = authenticate ? this.tokenUser : "");
    this.tokenUser = "";
  }

  // The broker's answer to the oldest SASL request in flight: an accepted login adopts that
  // request's own user, if no user was adopted before. Once one is, no answer changes it: Kafka
  // keeps a connection's principal, and fails (and closes) a re-authentication naming anyone else.
  saslAnswer(errorCode: i16): void {
    this.answeredUser = "";
    if (this.inFlight == 0) return;
    const user = unchecked(this.legUsers![this.head]);
    this.answeredUser = user;
    this.head = (this.head + 1) % MAX_SASL_IN_FLIGHT;
    this.inFlight--;
    if (this.saslUser !== null) return;
    if (errorCode != 0) this.saslFailed = true;
    else if (user.length > 0 && !this.saslFailed) this.saslUser = "User:" + user;
  }

  // Whether a request must be refused (and the connection closed) for the SASL exchange's sake:
  // - while a login is under way and its outcome unknown, anything but ApiVersions/SaslHandshake/
  //   SaslAuthenticate (`allowedDuringLogin`): the broker will run it as the user it is about to
  //   accept, or close the connection, so it cannot be judged meanwhile;
  // - a SASL request (`isSasl`) beyond MAX_SASL_IN_FLIGHT awaiting their answers.
  refuses(allowedDuringLogin: bool, isSasl: bool): bool {
    if (isSasl) return this.inFlight == MAX_SASL_IN_FLIGHT;
    return !allowedDuringLogin && this.inFlight > 0 && this.saslUser === null;
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
        // A connection in a SASL exchange is that exchange's user or nobody: it never falls
        // back to a source after this one.
        if (this.saslStarted) return ANONYMOUS;
      } else if (clientIdLen > 0 && !this.saslStarted && !this.hasCertificate()) {
        // A client id is whatever the client says: on a connection whose certificate Envoy
        // checked, or that logs in with SASL, it must not stand in for the certificate or the
        // SASL user (it could name a super user), whatever the order of the sources.
        return this.fromClientId(clientIdPtr, clientIdLen);
      }
    }
    return ANONYMOUS;
  }

  private fromClientId(ptr: usize, len: i32): string {
    for (let i = 0; i < CLIENT_ID_SLOTS; i++) {
      const id = unchecked(this.clientIds[i]);
      if (id !== null && id.byteLength == len && memory.compare(changetype<usize>(id), ptr, <usize>len) == 0) {
        return unchecked(this.clientIdNames[i]);
      }
    }
    const slot = this.nextClientIdSlot;
    this.nextClientIdSlot = (slot + 1) % CLIENT_ID_SLOTS;
    const id = new ArrayBuffer(len);
    memory.copy(changetype<usize>(id), ptr, <usize>len);
    const name = "User:" + String.UTF8.decodeUnsafe(ptr, <usize>len);
    unchecked(this.clientIds[slot] = id);
    unchecked(this.clientIdNames[slot] = name);
    return name;
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
