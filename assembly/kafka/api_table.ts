// Lookups over the generated API table: which API keys and versions exist and how they encode.
import { APIS, API_NAME_BYTES, API_NAME_ENDS, API_VERSIONS, MAX_API_KEY } from "./generated/schema_tables";
import { BYTE_NEVER, NEVER } from "./layout";

// The tables' addresses as plain numbers, read with one load (see field_table.ts).
const APIS_AT: usize = changetype<usize>(APIS);
const API_VERSIONS_AT: usize = changetype<usize>(API_VERSIONS);

// Column `c` of API_VERSIONS: 0 first valid, 1 last valid, 2 first flexible version.
@inline function versionCol(apiKey: i16, c: i32): i16 {
  const v = <i16>load<i8>(API_VERSIONS_AT + <usize>(<i32>apiKey * 3 + c));
  return v == <i16>BYTE_NEVER ? <i16>NEVER : v;
}

export function isKnownApi(apiKey: i16): bool {
  return apiKey >= 0 && apiKey <= MAX_API_KEY && load<i16>(APIS_AT + (<usize>apiKey << 2)) >= 0;
}

// True when this build's schemas define `version` of the API.
export function isValidVersion(apiKey: i16, version: i16): bool {
  return isKnownApi(apiKey) && version >= versionCol(apiKey, 0) && version <= versionCol(apiKey, 1);
}

// Flexible versions are open-ended in every schema, so this also answers for versions newer
// than the schemas know (what a broker assumes for a newer ApiVersions request, KIP-511).
export function isFlexible(apiKey: i16, version: i16): bool {
  return isKnownApi(apiKey) && version >= versionCol(apiKey, 2);
}

export function messageStruct(apiKey: i16, isRequest: bool): i32 {
  return load<i16>(APIS_AT + (<usize>apiKey << 2) + (isRequest ? 0 : 2));
}

export function lowestVersion(apiKey: i16): i16 {
  return versionCol(apiKey, 0);
}

export function highestVersion(apiKey: i16): i16 {
  return versionCol(apiKey, 1);
}

export function apiName(apiKey: i16): string {
  if (!isKnownApi(apiKey)) return "Unknown(" + apiKey.toString() + ")";
  const start = apiKey == 0 ? 0 : <i32>unchecked(API_NAME_ENDS[apiKey - 1]);
  return String.UTF8.decodeUnsafe(API_NAME_BYTES + <usize>start, <usize>(unchecked(API_NAME_ENDS[apiKey]) - start));
}

// The API key named `name`, or -1.
export function apiKeyNamed(name: string): i16 {
  for (let k: i16 = 0; k <= MAX_API_KEY; k++) if (isKnownApi(k) && apiName(k) == name) return k;
  return -1;
}
