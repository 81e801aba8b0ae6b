// The policy the topic-id and client-matrix suites (workers.test.ts, clients.test.ts) run under:
// ACLs by client id for a writer and a reader of `orders`, and tenant-a, whose `orders` is the
// broker's `tenantA.orders`. Anyone else is refused.
import { allow } from "../harness/acl_rules.ts";

export const WORKERS_CONFIG = {
  principal_sources: ["client_id"],
  acls: {
    rules: [
      allow("User:writer", "topic", "orders", ["write", "describe"]),
      allow("User:reader", "topic", "orders", ["read", "describe"]),
      // workers.test.ts learns this topic's id on one worker and fetches it on the others.
      allow("User:reader", "topic", "id-probe", ["read", "describe"]),
      { ...allow("User:reader", "group", "readers-", ["read"]), pattern: "prefixed" },
      // The tenant's ACLs name its topics as it knows them.
      allow("User:tenant-a", "topic", "orders", ["write", "read", "describe"]),
      { ...allow("User:tenant-a", "group", "readers-", ["read"]), pattern: "prefixed" },
    ],
  },
  rewrite: { tenants: [{ principal: "User:tenant-a", prefix: "tenantA." }] },
};
