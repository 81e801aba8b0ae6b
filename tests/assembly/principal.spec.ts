// Principals from SASL tokens and the configuration's numbers: both read by hand in the module
// (no String#replaceAll, no float parser), so their edge cases are pinned here.
import { Principal } from "../../assembly/policy/principal";
import { PrincipalSource } from "../../assembly/policy/principal_source";
import { parseConfig } from "../../assembly/policy/config";

function token(p: Principal, text: string): void {
  const t = String.UTF8.encode(text);
  p.saslToken(changetype<usize>(t), t.byteLength);
}

// The principal after a SASL exchange: PLAIN's one round trip, or SCRAM's two (client-first
// answered by server-first, then client-final answered by server-final), the last one answered
// with `accepted` or SASL_AUTHENTICATION_FAILED.
function saslPrincipal(mechanism: string, first: string, accepted: bool): string {
  const sources = new StaticArray<i32>(1);
  sources[0] = PrincipalSource.Sasl;
  const p = new Principal(sources);
  const m = String.UTF8.encode(mechanism);
  p.saslMechanism(changetype<usize>(m), m.byteLength);
  token(p, first);
  if (mechanism != "PLAIN") {
    p.saslResult(0);
    token(p, "c=biws,r=abc123,p=dHpbWjQ4Tg==");
  }
  p.saslResult(accepted ? 0 : 58);
  return p.name(0, -1);
}

describe("SASL principals", () => {
  it("takes the SCRAM user from the client-first message, unescaping =2C and =3D", () => {
    expect(saslPrincipal("SCRAM-SHA-256", "n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", true)).toBe("User:alice");
    expect(saslPrincipal("SCRAM-SHA-512", "n,,n=a=2Cb=3Dc=2C,r=abc", true)).toBe("User:a,b=c,");
    expect(saslPrincipal("SCRAM-SHA-256", "n,,n=last", true)).toBe("User:last");
  });

  it("names nobody for a SCRAM name with a bad escape, or one the broker refused", () => {
    expect(saslPrincipal("SCRAM-SHA-256", "n,,n=a=2Xb,r=abc", true)).toBe("User:ANONYMOUS");
    expect(saslPrincipal("SCRAM-SHA-256", "n,,n=a=,r=abc", true)).toBe("User:ANONYMOUS");
    expect(saslPrincipal("SCRAM-SHA-256", "n,,n=alice,r=abc", false)).toBe("User:ANONYMOUS");
  });

  it("does not take the SCRAM user on the server-first answer, before the proof was checked", () => {
    const sources = new StaticArray<i32>(1);
    sources[0] = PrincipalSource.Sasl;
    const p = new Principal(sources);
    const m = String.UTF8.encode("SCRAM-SHA-256");
    p.saslMechanism(changetype<usize>(m), m.byteLength);
    token(p, "n,,n=admin,r=abc");
    p.saslResult(0);
    expect(p.name(0, -1)).toBe("User:ANONYMOUS");
  });

  it("ties each SCRAM answer to its message when the client pipelines them", () => {
    const sources = new StaticArray<i32>(1);
    sources[0] = PrincipalSource.Sasl;
    const m = String.UTF8.encode("SCRAM-SHA-256");
    for (let proofAccepted = 0; proofAccepted < 2; proofAccepted++) {
      const p = new Principal(sources);
      p.saslMechanism(changetype<usize>(m), m.byteLength);
      token(p, "n,,n=admin,r=abc");
      token(p, "c=biws,r=abc123,p=forged");
      p.saslResult(0); // server-first: nothing proven yet
      expect(p.name(0, -1)).toBe("User:ANONYMOUS");
      p.saslResult(proofAccepted == 1 ? 0 : 58);
      expect(p.name(0, -1)).toBe(proofAccepted == 1 ? "User:admin" : "User:ANONYMOUS");
    }
  });

  it("takes the PLAIN authcid, not the authzid", () => {
    expect(saslPrincipal("PLAIN", "admin\0bob\0secret", true)).toBe("User:bob");
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
