// The filter's configuration: plain JSON handed over by Envoy (`configuration` of the Wasm
// filter, or Istio's `pluginConfig`). Unknown keys and wrong types are rejected with a message
// naming the key, so a typo can never silently turn a check off.
import { JsonKind, JsonValue, parseJson } from "./json";
import { Acl, parseAcl } from "./acl";
import { RewriteRules, parseRewrite } from "./rewrite_rules";
import { GatewayRules, parseGateway } from "./gateway";
import { parsePrincipalSource, PrincipalSource } from "./principal_source";
import { Guardrails, parseGuardrails } from "./guardrails";
import { Validation, coverRewrites, parseValidation } from "./validation";
import { AuditConfig, parseAudit } from "./audit_config";
import { Quotas, parseQuotas } from "./quotas";
import { apiKeyNamed, highestVersion, isKnownApi, lowestVersion } from "../kafka/api_table";
import { MAX_API_KEY } from "../kafka/generated/schema_tables";
import { ForwardMode } from "../proxy/forward_mode";

export class FilterConfig {
  // Not Kafka's 100 MiB (socket.request.max.bytes): a sidecar holds every request whole before it
  // leaves. 8 MiB is 8 times a Java producer's max.request.size; raise it with the clients'.
  maxRequestBytes: i32 = 8388608;
  // Responses are not paused (Envoy never resumes a paused upstream), so this must cover what
  // the clients ask for: a Java consumer's fetch.max.bytes is 50 MiB.
  maxResponseBytes: i32 = 104857600;
  // What all connections of one VM (Envoy worker) may hold in buffers together (unfinished
  // frames first of all), like Kafka's queued.max.request.bytes: a connection that would take
  // them past it is closed. A frame larger than this can never pass.
  maxBufferedBytes: i32 = 268435456;
  // Bytes a connection's requests may wait in Envoy's buffer (paused) until they can be decided;
  // a request that would need more is copied into the module instead. It must stay below the
  // listener's per_connection_buffer_limit_bytes (Envoy's default 1 MiB; edge configurations use
  // 32 KiB), past which Envoy stops reading a paused connection.
  maxHeldBytes: i32 = 262144;
  // Requests a connection may have waiting for their responses (a Java client sends at most 5).
  maxInFlight: i32 = 1000;
  forward: ForwardMode = ForwardMode.AfterCheck;
  // The metrics stage (README: Metrics) and its bounds on label cardinality.
  metrics: bool = true;
  maxTopicLabels: i32 = 100;
  maxClientLabels: i32 = 100;
  // Where principals come from, first match wins (connection_principal.ts).
  principalSources: StaticArray<i32> = [
    PrincipalSource.MtlsUriSan, PrincipalSource.MtlsSubject, PrincipalSource.Sasl, PrincipalSource.ClientId,
  ];
  // The authorization stage; null when the configuration has no `acls`.
  acl: Acl | null = null;
  // The rewriting stage; null when the configuration has no `rewrite`.
  rewrite: RewriteRules | null = null;
  // The guardrails stage; null when the configuration has no `guardrails`.
  guardrails: Guardrails | null = null;
  // The record validation stage; null when the configuration has no `validation`.
  validation: Validation | null = null;
  // The gateway's broker addresses (filters/gateway.ts); null when the configuration has no
  // `gateway` (brokers' own addresses reach clients unchanged).
  gateway: GatewayRules | null = null;
  // Per API key, the newest version the filter lets clients and brokers agree on: what its
  // schemas know, lowered by `api_versions` (filters/versions.ts).
  maxVersions: StaticArray<i16> = schemaMaxVersions();
  // Lineage counters per (workload, topic) and (group, topic) (filters/lineage.ts).
  lineage: bool = false;
  // Audit events written to Envoy's log (filters/audit.ts).
  audit: AuditConfig = new AuditConfig();
  // The quotas stage (filters/quotas.ts); null when the configuration has no `quotas`.
  quotas: Quotas | null = null;
}

function schemaMaxVersions(): StaticArray<i16> {
  const max = new StaticArray<i16>(<i32>MAX_API_KEY + 1);
  for (let k: i16 = 0; k <= MAX_API_KEY; k++) max[k] = isKnownApi(k) ? highestVersion(k) : -1;
  return max;
}

// `"api_versions": {"Produce": 12}`: operators pin APIs below what the schemas know. A cap
// under the API's oldest version would leave no version to agree on, so it is refused.
function versionCaps(v: JsonValue, max: StaticArray<i16>, r: ConfigResult): void {
  if (v.kind != JsonKind.Object) {
    r.error = "config key 'api_versions' must be an object of API name to newest version";
    return;
  }
  for (let i = 0; i < v.keys.length; i++) {
    const name = v.keys[i];
    const key = apiKeyNamed(name);
    if (key < 0) {
      r.error = "config key 'api_versions' names an unknown API '" + name + "'";
      return;
    }
    const cap = v.items[i];
    const low = lowestVersion(key);
    // The JSON reader takes whole numbers only.
    if (cap.kind != JsonKind.Number || cap.num < low || cap.num > 32767) {
      r.error = "config key 'api_versions." + name + "' must be a whole number from " + low.toString() + " to 32767";
      return;
    }
    if (<i16>cap.num < max[key]) max[key] = <i16>cap.num;
  }
}

function principalSources(v: JsonValue, r: ConfigResult): StaticArray<i32> {
  const bad = "config key 'principal_sources' must be a non-empty array of \"mtls_uri_san\", \"mtls_subject\", \"sasl\", \"client_id\"";
  if (v.kind != JsonKind.Array || v.items.length == 0) {
    r.error = bad;
    return [];
  }
  const out = new StaticArray<i32>(v.items.length);
  for (let i = 0; i < v.items.length; i++) {
    const source = v.items[i].kind == JsonKind.String ? parsePrincipalSource(v.items[i].str) : -1;
    if (source < 0) {
      r.error = bad;
      return [];
    }
    out[i] = source;
  }
  return out;
}

export class ConfigResult {
  config: FilterConfig | null = null;
  error: string = "";
}

// Envoy caps a Wasm VM's memory at 1 GiB; the GC heap, the answers a frame's walk builds and
// allocator slack need a good part of it, so no size (a frame, all buffers) may pass half.
function sizeValue(key: string, v: JsonValue, r: ConfigResult): i32 {
  if (v.kind != JsonKind.Number || v.num != Math.floor(v.num) || v.num < 16 || v.num > 536870912) {
    r.error = "config key '" + key + "' must be a whole number of bytes between 16 and 536870912";
    return 0;
  }
  return <i32>v.num;
}

function countValue(key: string, v: JsonValue, r: ConfigResult): i32 {
  if (v.kind != JsonKind.Number || v.num != Math.floor(v.num) || v.num < 1 || v.num > 10000) {
    r.error = "config key '" + key + "' must be a whole number between 1 and 10000";
    return 0;
  }
  return <i32>v.num;
}

export function parseConfig(text: string): ConfigResult {
  const r = new ConfigResult();
  const c = new FilterConfig();
  // An empty configuration means "all defaults", as Envoy passes no bytes when none is set.
  if (text.trim().length == 0) {
    r.config = c;
    return r;
  }
  const parsed = parseJson(text);
  if (parsed.error.length > 0) {
    r.error = "config is not valid JSON: " + parsed.error;
    return r;
  }
  const root = parsed.value!;
  // Caps are enforced by narrowing ApiVersions responses, which observe-only mode cannot do.
  let capped = false;
  if (root.kind != JsonKind.Object) {
    r.error = "config must be a JSON object";
    return r;
  }
  for (let i = 0; i < root.keys.length && r.error.length == 0; i++) {
    const key = root.keys[i];
    const v = root.items[i];
    if (key == "max_request_bytes") c.maxRequestBytes = sizeValue(key, v, r);
    else if (key == "max_response_bytes") c.maxResponseBytes = sizeValue(key, v, r);
    else if (key == "max_buffered_bytes") c.maxBufferedBytes = sizeValue(key, v, r);
    else if (key == "max_in_flight_requests") c.maxInFlight = countValue(key, v, r);
    else if (key == "max_held_bytes") c.maxHeldBytes = sizeValue(key, v, r);
    else if (key == "max_topic_labels") c.maxTopicLabels = countValue(key, v, r);
    else if (key == "max_client_labels") c.maxClientLabels = countValue(key, v, r);
    else if (key == "metrics") {
      if (v.kind == JsonKind.Bool) c.metrics = v.bool;
      else r.error = "config key 'metrics' must be true or false";
    } else if (key == "forward") {
      if (v.kind == JsonKind.String && v.str == "after_check") c.forward = ForwardMode.AfterCheck;
      else if (v.kind == JsonKind.String && v.str == "immediately") c.forward = ForwardMode.Immediately;
      else r.error = "config key 'forward' must be \"after_check\" or \"immediately\"";
    } else if (key == "principal_sources") {
      c.principalSources = principalSources(v, r);
    } else if (key == "acls") {
      const acl = parseAcl(v);
      if (acl.error.length > 0) r.error = acl.error;
      c.acl = acl.acl;
    } else if (key == "rewrite") {
      const rw = parseRewrite(v);
      if (rw.error.length > 0) r.error = rw.error;
      c.rewrite = rw.rules;
    } else if (key == "guardrails") {
      const g = parseGuardrails(v);
      if (g.error.length > 0) r.error = g.error;
      c.guardrails = g.rules;
    } else if (key == "validation") {
      const vr = parseValidation(v);
      if (vr.error.length > 0) r.error = vr.error;
      c.validation = vr.rules;
    } else if (key == "gateway") {
      const gw = parseGateway(v);
      if (gw.error.length > 0) r.error = gw.error;
      c.gateway = gw.rules;
    } else if (key == "lineage") {
      if (v.kind == JsonKind.Bool) c.lineage = v.bool;
      else r.error = "config key 'lineage' must be true or false";
    } else if (key == "audit") {
      const a = parseAudit(v);
      if (a.error.length > 0) r.error = a.error;
      c.audit = a.config;
    } else if (key == "quotas") {
      const q = parseQuotas(v);
      if (q.error.length > 0) r.error = q.error;
      c.quotas = q.quotas;
    } else if (key == "api_versions") {
      versionCaps(v, c.maxVersions, r);
      capped = true;
    } else r.error = "unknown config key '" + key + "'";
  }
  // Editing frames needs them whole before they leave: a policy that changes traffic cannot run
  // in observe-only mode.
  if (r.error.length == 0 && (c.acl !== null || c.rewrite !== null || c.guardrails !== null || c.validation !== null || c.gateway !== null ||
    c.quotas !== null || capped) && c.forward != ForwardMode.AfterCheck) {
    r.error = "config key 'forward' must be \"after_check\" when 'acls', 'rewrite', 'guardrails', 'validation', 'gateway', 'quotas' or 'api_versions' is set";
  }
  if (r.error.length == 0 && c.validation !== null && c.rewrite !== null) coverRewrites(c.validation!, c.rewrite!);
  // Lineage counts under the metrics stage's topic labels.
  if (r.error.length == 0 && c.lineage && !c.metrics) r.error = "config key 'lineage' needs 'metrics' to be true";
  if (r.error.length == 0) r.config = c;
  return r;
}
