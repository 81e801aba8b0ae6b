// Audit events (filters/audit.ts) read back from an Envoy log: every line holding the fixed key
// `{"kafka_proxy_audit":` carries one JSON object from there to its end.
export type AuditEvent = Record<string, any>;

export function auditEvents(log: string): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (const line of log.split("\n")) {
    const at = line.indexOf('{"kafka_proxy_audit":');
    if (at >= 0) out.push(JSON.parse(line.slice(at)));
  }
  return out;
}
