// The `audit` key of the configuration: which audit events the filter writes to Envoy's log
// (filters/audit.ts), request sampling and the cap on events per second.
import { JsonKind, JsonValue } from "./json";
import { apiKeyNamed } from "../kafka/api_table";
import { MAX_API_KEY } from "../kafka/generated/schema_tables";

export class AuditConfig {
  // Requests or entries refused by the policy (and what dry-run rules would have refused).
  refusals: bool = true;
  // Administrative requests (CreateTopics, DeleteTopics, AlterConfigs...), allowed or not.
  admin: bool = true;
  // SASL logins accepted or refused by the broker.
  authentication: bool = true;
  // Connection open and close (principal, client id, software, peer, bytes, duration).
  connections: bool = false;
  // Every answered request (request log), one in `sampleEvery`, of the APIs in `requestApis`
  // (null: all).
  requests: bool = false;
  requestApis: StaticArray<bool> | null = null;
  sampleEvery: i32 = 1;
  // Events each Envoy worker's VM may write per second; the rest are counted
  // (audit.events_dropped) and not written.
  maxEventsPerSecond: i32 = 100;

  // Whether any event is written (`"audit": false` turns them all off).
  get enabled(): bool {
    return this.refusals || this.admin || this.authentication || this.connections || this.requests;
  }
}

export class AuditParse {
  config: AuditConfig = new AuditConfig();
  error: string = "";
}

function flag(key: string, v: JsonValue, p: AuditParse): bool {
  if (v.kind != JsonKind.Bool) {
    p.error = "config key 'audit." + key + "' must be true or false";
    return false;
  }
  return v.bool;
}

function whole(key: string, v: JsonValue, low: i32, high: i32, p: AuditParse): i32 {
  if (v.kind != JsonKind.Number || v.num != Math.floor(v.num) || v.num < <f64>low || v.num > <f64>high) {
    p.error = "config key 'audit." + key + "' must be a whole number between " + low.toString() + " and " + high.toString();
    return low;
  }
  return <i32>v.num;
}

// `"audit": false` (no events), or `"audit": {"refusals": true, "admin": true, "authentication": true, "connections": false,
// "requests": {"apis": ["Produce"], "sample_every": 100}, "max_events_per_second": 100}`.
export function parseAudit(v: JsonValue): AuditParse {
  const p = new AuditParse();
  const c = p.config;
  if (v.kind == JsonKind.Bool && !v.bool) {
    c.refusals = c.admin = c.authentication = false;
    return p;
  }
  if (v.kind != JsonKind.Object) {
    p.error = "config key 'audit' must be an object or false";
    return p;
  }
  for (let i = 0; i < v.keys.length && p.error.length == 0; i++) {
    const key = v.keys[i];
    const item = v.items[i];
    if (key == "refusals") c.refusals = flag(key, item, p);
    else if (key == "admin") c.admin = flag(key, item, p);
    else if (key == "authentication") c.authentication = flag(key, item, p);
    else if (key == "connections") c.connections = flag(key, item, p);
    else if (key == "max_events_per_second") c.maxEventsPerSecond = whole(key, item, 1, 1000000, p);
    else if (key == "requests") {
      if (item.kind == JsonKind.Bool) {
        c.requests = item.bool;
        continue;
      }
      if (item.kind != JsonKind.Object) {
        p.error = "config key 'audit.requests' must be true, false or an object";
        break;
      }
      c.requests = true;
      for (let j = 0; j < item.keys.length && p.error.length == 0; j++) {
        const k = item.keys[j];
        const w = item.items[j];
        if (k == "sample_every") c.sampleEvery = whole("requests.sample_every", w, 1, 1000000, p);
        else if (k == "apis") {
          if (w.kind != JsonKind.Array) {
            p.error = "config key 'audit.requests.apis' must be an array of API names";
            break;
          }
          const apis = new StaticArray<bool>(<i32>MAX_API_KEY + 1);
          for (let n = 0; n < w.items.length; n++) {
            const name = w.items[n];
            const apiKey = name.kind == JsonKind.String ? apiKeyNamed(name.str) : -1;
            if (apiKey < 0) {
              p.error = "config key 'audit.requests.apis[" + n.toString() + "]' must name a Kafka API (e.g. \"Produce\")";
              break;
            }
            apis[apiKey] = true;
          }
          c.requestApis = apis;
        } else p.error = "unknown config key 'audit.requests." + k + "'";
      }
    } else p.error = "unknown config key 'audit." + key + "'";
  }
  return p;
}
