// Principals from SASL tokens and the configuration's numbers: both read by hand in the module
// (no String#replaceAll, no float parser), so their edge cases are pinned here.
import { MAX_SASL_IN_FLIGHT, Principal } from "../../assembly/policy/connection_principal";
import { PrincipalSource } from "../../assembly/policy/principal_source";
import { parseConfig } from "../../assembly/policy/config";

// A SaslAuthenticate request carrying `text`, walked and forwarded.
function token(p: Principal, text: string): void {
  const t = String.UTF8.encode(text);
  p.saslToken(changetype<usize>(t), t.byteLength);
  p.saslRequest(true);
}

function sources(list: i32[]): StaticArray<i32> {
  return StaticArray.fromArray<i32>(list);
}

// A connection whose SaslHandshake for `mechanism` went out and was answered.
function handshaken(mechanism: string, from: StaticArray<i32> = sources([PrincipalSource.Sasl])): Principal {
  const p = new Principal(from);
  const m = String.UTF8.encode(mechanism);
  p.saslMechanism(changetype<usize>(m), m.byteLength);
  p.saslRequest(false);
  p.saslAnswer(0);
  return p;
}

// The principal of a request with client id `clientId`.
function nameWith(p: Principal, clientId: string): string {
  const c = String.UTF8.encode(clientId);
  return p.name(changetype<usize>(c), c.byteLength);
}

// The principal after a SASL exchange: PLAIN's one round trip, or SCRAM's two (client-first
// answered by server-first, then client-final answered by server-final), the last one answered
// with `accepted` or SASL_AUTHENTICATION_FAILED.
function saslPrincipal(mechanism: string, first: string, accepted: bool): string {
  const p = handshaken(mechanism);
  token(p, first);
  if (mechanism != "PLAIN") {
    p.saslAnswer(0);
    token(p, "c=biws,r=abc123,p=dHpbWjQ4Tg==");
  }
  p.saslAnswer(accepted ? 0 : 58);
  return p.name(0, -1);
}

const ILLEGAL_SASL_STATE: i16 = 34;
// The default sources without the certificate ones (the specs have no host to read them from;
// e2e/authz_sasl_attacks.test.ts runs with all four).
const SASL_THEN_CLIENT_ID: i32[] = [PrincipalSource.Sasl, PrincipalSource.ClientId];

describe("SASL principals", () => {
  it("takes the SCRAM user from the client-first message, unescaping =2C and =3D", () => {
    expect(saslPrincipal("SCRAM-SHA-256", "n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", true)).toBe("User:alice");
    expect(saslPrincipal("SCRAM-SHA-512", "n,,n=a=2Cb=3Dc=2C,r=abc", true)).toBe("User:a,b=c,");
    expect(saslPrincipal("SCRAM-SHA-256", "n,,n=last", true)).toBe("User:last");
    expect(saslPrincipal("SCRAM-SHA-256", "y,a=bob,n=bob,r=abc", true)).toBe("User:bob");
  });

  it("names nobody for a SCRAM name with a bad escape, a delegation token, or one the broker refused", () => {
    expect(saslPrincipal("SCRAM-SHA-256", "n,,n=a=2Xb,r=abc", true)).toBe("User:ANONYMOUS");
    expect(saslPrincipal("SCRAM-SHA-256", "n,,n=a=,r=abc", true)).toBe("User:ANONYMOUS");
    expect(saslPrincipal("SCRAM-SHA-256", "n,,n=alice,r=abc", false)).toBe("User:ANONYMOUS");
    // The token's id is not its owner, whom the broker makes the principal.
    expect(saslPrincipal("SCRAM-SHA-256", "n,,n=admin,r=abc,tokenauth=true", true)).toBe("User:ANONYMOUS");
  });

  it("does not take the SCRAM user on the server-first answer, before the proof was checked", () => {
    const p = handshaken("SCRAM-SHA-256");
    token(p, "n,,n=admin,r=abc");
    p.saslAnswer(0);
    expect(p.name(0, -1)).toBe("User:ANONYMOUS");
  });

  it("ties each SCRAM answer to its message when the client pipelines them", () => {
    for (let proofAccepted = 0; proofAccepted < 2; proofAccepted++) {
      const p = handshaken("SCRAM-SHA-256");
      token(p, "n,,n=admin,r=abc");
      token(p, "c=biws,r=abc123,p=forged");
      p.saslAnswer(0); // server-first: nothing proven yet
      expect(p.name(0, -1)).toBe("User:ANONYMOUS");
      p.saslAnswer(proofAccepted == 1 ? 0 : 58);
      expect(p.name(0, -1)).toBe(proofAccepted == 1 ? "User:admin" : "User:ANONYMOUS");
    }
  });

  it("takes the PLAIN authcid, not the authzid", () => {
    expect(saslPrincipal("PLAIN", "admin\0bob\0secret", true)).toBe("User:bob");
  });

  it("PLAIN: a second login pipelined behind an accepted one never takes over (issue 12, 1)", () => {
    const p = handshaken("PLAIN");
    token(p, "\0mallory\0mallory-pw");
    token(p, "\0admin\0wrong");
    p.saslAnswer(0);
    expect(p.name(0, -1)).toBe("User:mallory");
    p.saslAnswer(ILLEGAL_SASL_STATE);
    expect(p.name(0, -1)).toBe("User:mallory");
  });

  it("SCRAM: a client-first pipelined behind an accepted client-final never takes over (issue 12, 2)", () => {
    const p = handshaken("SCRAM-SHA-256");
    token(p, "n,,n=carol,r=abc");
    p.saslAnswer(0);
    token(p, "c=biws,r=abc123,p=proof");
    token(p, "n,,n=admin,r=xyz");
    p.saslAnswer(0);
    expect(p.name(0, -1)).toBe("User:carol");
    p.saslAnswer(ILLEGAL_SASL_STATE);
    expect(p.name(0, -1)).toBe("User:carol");
  });

  it("SCRAM: a client-final carrying ',n=' in its extensions proves its client-first's user, nobody else", () => {
    const p = handshaken("SCRAM-SHA-256");
    token(p, "n,,n=carol,r=abc");
    p.saslAnswer(0);
    token(p, "c=biws,r=abc123,n=admin,p=proof");
    p.saslAnswer(0);
    expect(p.name(0, -1)).toBe("User:carol");
  });

  it("keeps the first accepted user: a re-authentication naming someone else is never adopted", () => {
    const p = handshaken("PLAIN");
    token(p, "\0mallory\0mallory-pw");
    p.saslAnswer(0);
    const again = String.UTF8.encode("PLAIN");
    p.saslMechanism(changetype<usize>(again), again.byteLength);
    p.saslRequest(false);
    token(p, "\0admin\0admin-pw");
    expect(p.refuses(false, false)).toBe(false, "requests behind a re-authentication are judged as the user");
    p.saslAnswer(0);
    p.saslAnswer(0);
    expect(p.name(0, -1)).toBe("User:mallory");
  });

  it("believes no later answer once a login failed before any was accepted", () => {
    const p = handshaken("PLAIN");
    token(p, "\0admin\0wrong");
    token(p, "\0mallory\0mallory-pw");
    p.saslAnswer(58);
    p.saslAnswer(0);
    expect(p.name(0, -1)).toBe("User:ANONYMOUS");
  });
});

describe("SASL and the other principal sources", () => {
  it("a connection that started SASL never falls back to its client id (issue 12, 3)", () => {
    const p = new Principal(sources(SASL_THEN_CLIENT_ID));
    expect(nameWith(p, "admin")).toBe("User:admin", "before any SASL request the client id is the principal");
    const m = String.UTF8.encode("SCRAM-SHA-256");
    p.saslMechanism(changetype<usize>(m), m.byteLength);
    p.saslRequest(false);
    expect(nameWith(p, "admin")).toBe("User:ANONYMOUS");
    p.saslAnswer(0);
    token(p, "n,,n=carol,r=abc");
    p.saslAnswer(0);
    // Between the legs nothing is pending, and still no client id.
    expect(nameWith(p, "admin")).toBe("User:ANONYMOUS");
    token(p, "c=biws,r=abc123,p=proof");
    p.saslAnswer(0);
    expect(nameWith(p, "admin")).toBe("User:carol");
  });

  it("whatever the order of the sources", () => {
    const p = handshaken("PLAIN", sources([PrincipalSource.ClientId, PrincipalSource.Sasl]));
    expect(nameWith(p, "admin")).toBe("User:ANONYMOUS");
    token(p, "\0mallory\0mallory-pw");
    p.saslAnswer(0);
    expect(nameWith(p, "admin")).toBe("User:mallory");
  });

  it("without sasl among the sources, a SASL exchange changes nothing", () => {
    const p = handshaken("PLAIN", sources([PrincipalSource.ClientId]));
    token(p, "\0mallory\0mallory-pw");
    expect(p.refuses(false, false)).toBe(false);
    p.saslAnswer(0);
    expect(nameWith(p, "admin")).toBe("User:admin");
  });

  it("refuses other requests until the broker answered the login, and SASL requests past the bound", () => {
    const p = new Principal(sources(SASL_THEN_CLIENT_ID));
    expect(p.refuses(false, false)).toBe(false, "no login under way");
    const m = String.UTF8.encode("PLAIN");
    p.saslMechanism(changetype<usize>(m), m.byteLength);
    p.saslRequest(false);
    expect(p.refuses(false, false)).toBe(true, "behind the handshake");
    expect(p.refuses(true, false)).toBe(false, "ApiVersions");
    p.saslAnswer(0);
    expect(p.refuses(false, false)).toBe(false, "nothing in flight: judged as nobody");
    for (let i = 0; i < MAX_SASL_IN_FLIGHT; i++) {
      expect(p.refuses(true, true)).toBe(false);
      token(p, "\0mallory\0mallory-pw");
    }
    expect(p.refuses(true, true)).toBe(true, "one SASL request too many");
    expect(p.refuses(false, false)).toBe(true, "behind the logins");
    p.saslAnswer(0);
    expect(p.refuses(false, false)).toBe(false, "mallory is in");
    expect(nameWith(p, "admin")).toBe("User:mallory");
  });
});

describe("configuration numbers", () => {
  it("takes whole numbers", () => {
    expect(parseConfig(`{"max_request_bytes": 1048576, "max_topic_labels": 7}`).error).toBe("");
  });

  it("refuses fractions, exponents, leading zeros and non-numbers, naming the problem", () => {
    for (let i = 0; i < 5; i++) {
      const text = [`1e6`, `1.5`, `01`, `-`, `1E3`][i];
      const error = parseConfig(`{"max_request_bytes": ` + text + `}`).error;
      expect(error.startsWith("config is not valid JSON: ")).toBe(true, text);
      expect(error.includes("numbers here are whole")).toBe(true, text + ": " + error);
    }
    expect(parseConfig(`{"max_request_bytes": -5}`).error)
      .toBe("config key 'max_request_bytes' must be a whole number of bytes between 16 and 536870912");
  });
});
