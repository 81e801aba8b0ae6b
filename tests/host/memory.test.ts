// Per-connection state must go when its connection goes: the stages' buffers live off the GC
// heap (ByteBuffer), so a forgotten release() is a leak per connection that only many short
// connections show (the fuzzer found one: ~400 B per connection under any ACL or rewrite policy).
// Every captured exchange runs on 2,000 fresh connections per policy after a warm-up; the
// module's memory may not grow.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WASM } from "../harness/paths.ts";
import { ProxyWasmHost } from "./proxy_wasm_host.ts";
import { CAPTURED, POLICIES } from "./fuzz.ts";

const requests = CAPTURED.filter((c) => c.isRequest);

for (const policy of Object.keys(POLICIES)) {
  test(`${policy}: 2,000 connections per captured exchange leave the module's memory where it was`, async () => {
    const host = await ProxyWasmHost.load(WASM);
    assert.ok(host.configure(POLICIES[policy]));
    const exchange = (req: (typeof requests)[number]) => {
      const resp = CAPTURED.find((c) => !c.isRequest && c.apiKey === req.apiKey && c.version === req.version);
      const c = host.connect();
      host.downstream(c, req.bytes);
      if (resp) {
        const answer = Buffer.from(resp.bytes);
        answer.writeInt32BE(req.bytes.readInt32BE(8), 4);
        host.upstream(c, answer);
      }
      host.close(c);
    };
    for (const req of requests) for (let i = 0; i < 50; i++) exchange(req);
    const warm = host.memoryBytes();
    for (const req of requests) for (let i = 0; i < 2000; i++) exchange(req);
    assert.equal(host.memoryBytes() - warm, 0, `memory grew after ${2000 * requests.length} connections`);
  });
}

// Garbage is collected only as host callbacks end (assembly/proxy/gc.ts), so it must be paced by
// what the callbacks allocate, not only by how many there are: one long-lived connection whose
// client names itself anew in every request (a principal's name per request) in few callbacks
// reached 128-256 MiB when collections followed only the callback count.
for (const [idBytes, perCallback] of [[20000, 3], [200, 100]]) {
  test(`a new ${idBytes}-byte client id in every request, ${perCallback} requests per callback: memory stays bounded`, async () => {
    const host = await ProxyWasmHost.load(WASM);
    assert.ok(host.configure(POLICIES.acls));
    const c = host.connect();
    let correlation = 1;
    for (let round = 0; round < 3000; round++) {
      const requests: Buffer[] = [];
      const answers: Buffer[] = [];
      for (let k = 0; k < perCallback; k++, correlation++) {
        const id = Buffer.alloc(idBytes, 0x61);
        id.write(String(correlation).padStart(10, "0"), 0, "latin1");
        // ApiVersions v0 from client id `id`, and the broker's empty answer to it.
        const r = Buffer.alloc(14 + idBytes);
        r.writeInt32BE(r.length - 4, 0);
        r.writeInt16BE(18, 4);
        r.writeInt32BE(correlation, 8);
        r.writeInt16BE(idBytes, 12);
        id.copy(r, 14);
        requests.push(r);
        const a = Buffer.alloc(14);
        a.writeInt32BE(10, 0);
        a.writeInt32BE(correlation, 4);
        answers.push(a);
      }
      host.downstream(c, Buffer.concat(requests));
      host.upstream(c, Buffer.concat(answers));
    }
    assert.ok(!c.closed, "the connection was served");
    assert.ok(host.memoryBytes() <= 8 * 1048576, `the module's memory reached ${host.memoryBytes()} bytes`);
  });
}
