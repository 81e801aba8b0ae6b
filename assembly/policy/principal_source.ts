// The places a principal can come from, as the configuration names them
// (connection_principal.ts reads them on a connection).
export const enum PrincipalSource {
  MtlsUriSan,
  MtlsSubject,
  Sasl,
  ClientId,
}

export const ANONYMOUS = "User:ANONYMOUS";

export function parsePrincipalSource(name: string): i32 {
  if (name == "mtls_uri_san") return PrincipalSource.MtlsUriSan;
  if (name == "mtls_subject") return PrincipalSource.MtlsSubject;
  if (name == "sasl") return PrincipalSource.Sasl;
  if (name == "client_id") return PrincipalSource.ClientId;
  return -1;
}
