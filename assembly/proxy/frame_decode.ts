// Fills a KafkaFrame from the codec's header decoders. Kept apart from the connection so the
// network layer's only knowledge of Kafka headers is this mapping.
import { KafkaFrame } from "./kafka_frame";
import { parseRequestHeader, parseResponseHeader, RequestHeader, ResponseHeader } from "../kafka/message_header";
import { isValidVersion } from "../kafka/api_table";
import { ApiKey } from "../kafka/api_keys";

const request = new RequestHeader();
const response = new ResponseHeader();

// Returns 0, or the codec's negative error code.
export function decodeRequestHeader(f: KafkaFrame): i32 {
  const err = parseRequestHeader(f.ptr, f.len, request);
  if (err < 0) return err;
  f.apiKey = request.apiKey;
  f.apiVersion = request.apiVersion;
  f.correlationId = request.correlationId;
  f.clientIdOffset = <i32>(request.clientIdPtr - f.ptr);
  f.clientIdLength = request.clientIdLen;
  f.bodyOffset = request.bodyOffset;
  // KIP-511: a broker answers an ApiVersions request of a version it does not know with a
  // version 0 response (listing what it supports), so that is how the answer is decoded.
  f.responseVersion = f.apiKey == ApiKey.ApiVersions && !isValidVersion(f.apiKey, f.apiVersion) ? 0 : f.apiVersion;
  return 0;
}

// `f.apiKey`/`f.apiVersion` must already name the request this response answers.
export function decodeResponseHeader(f: KafkaFrame): i32 {
  const err = parseResponseHeader(f.ptr, f.len, f.apiKey, f.apiVersion, response);
  if (err < 0) return err;
  f.correlationId = response.correlationId;
  f.bodyOffset = response.bodyOffset;
  return 0;
}
