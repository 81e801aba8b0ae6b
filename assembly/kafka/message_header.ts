// Request and response headers, walked with the generated RequestHeader/ResponseHeader
// schemas. Which header version a frame uses depends on its API and version, as in Kafka's
// ApiKeys.requestHeaderVersion/responseHeaderVersion.
import { REQUEST_HEADER_STRUCT, RESPONSE_HEADER_STRUCT } from "./generated/schema_tables";
import { walkStruct, Visitor, WalkError } from "./walker";
import { isFlexible } from "./api_table";
import { Role } from "./layout";

const API_VERSIONS: i16 = 18;
// Size prefix, then the three fixed fields every request header starts with.
const FIXED_REQUEST_PREFIX = 4 + 2 + 2 + 4;
const FIXED_RESPONSE_PREFIX = 4 + 4;

export class RequestHeader extends Visitor {
  apiKey: i16 = 0;
  apiVersion: i16 = 0;
  correlationId: i32 = 0;
  // The client id as a byte range; -1 length when null.
  clientIdPtr: usize = 0;
  clientIdLen: i32 = -1;
  // Offset of the body from the frame start (size prefix included).
  bodyOffset: i32 = 0;

  text(role: i32, ptr: usize, len: i32): void {
    if (role == Role.ClientId) {
      this.clientIdPtr = ptr;
      this.clientIdLen = len;
    }
  }
}

export class ResponseHeader extends Visitor {
  correlationId: i32 = 0;
  bodyOffset: i32 = 0;
}

// Request header version 2 (tagged fields) goes with flexible API versions; 1 otherwise. An API
// key this build does not know is read as version 1, enough to name it in an error.
export function requestHeaderVersion(apiKey: i16, apiVersion: i16): i16 {
  return isFlexible(apiKey, apiVersion) ? 2 : 1;
}

// ApiVersions responses always use header version 0, so that a client that sent a version the
// broker does not know can still read the answer (KIP-511).
export function responseHeaderVersion(apiKey: i16, apiVersion: i16): i16 {
  return apiKey != API_VERSIONS && isFlexible(apiKey, apiVersion) ? 1 : 0;
}

// `ptr`/`len` cover the whole frame including its 4-byte size. Returns 0 or a WalkError.
export function parseRequestHeader(ptr: usize, len: i32, out: RequestHeader): i32 {
  if (len < FIXED_REQUEST_PREFIX) return WalkError.Truncated;
  out.apiKey = <i16>bswap<u16>(load<u16>(ptr + 4));
  out.apiVersion = <i16>bswap<u16>(load<u16>(ptr + 6));
  out.correlationId = <i32>bswap<u32>(load<u32>(ptr + 8));
  out.clientIdPtr = 0;
  out.clientIdLen = -1;
  const version = requestHeaderVersion(out.apiKey, out.apiVersion);
  const n = walkStruct(REQUEST_HEADER_STRUCT, version, version >= 2, ptr + 4, len - 4, out);
  if (n < 0) return n;
  out.bodyOffset = 4 + n;
  return 0;
}

// `apiKey`/`apiVersion` are those of the request being answered.
export function parseResponseHeader(ptr: usize, len: i32, apiKey: i16, apiVersion: i16, out: ResponseHeader): i32 {
  if (len < FIXED_RESPONSE_PREFIX) return WalkError.Truncated;
  out.correlationId = <i32>bswap<u32>(load<u32>(ptr + 4));
  const version = responseHeaderVersion(apiKey, apiVersion);
  const n = walkStruct(RESPONSE_HEADER_STRUCT, version, version >= 1, ptr + 4, len - 4, out);
  if (n < 0) return n;
  out.bodyOffset = 4 + n;
  return 0;
}
