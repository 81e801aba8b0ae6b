// The gateway stage: every broker address a response carries (Role.BrokerHost/BrokerPort:
// Metadata and DescribeCluster brokers, FindCoordinator's coordinator(s), KIP-951 NodeEndpoints
// in Produce, Fetch, ShareFetch and ShareAcknowledge) is replaced by the gateway's address for
// that node id (assembly/policy/gateway.ts), so clients only ever dial the proxy while brokers
// keep advertising their own addresses.
//
// A broker the rule has no address for (explicit map mode) never reaches the client: its entry
// is dropped from the list it is in (the client sees the broker missing, as while it is down),
// and the response naming it outside a list (FindCoordinator v0-3's single coordinator) is
// refused, which closes the connection. Both are counted in gateway.brokers_unmapped.
import { Counter } from "../assembly/proxy/host_metrics";
import { GatewayMode, GatewayRules } from "../assembly/policy/gateway";
import { ByteBuffer } from "../assembly/kafka/byte_buffer";
import { FrameEdits } from "../assembly/kafka/frame_edits";
import { writeInt32, writeStringLength } from "../assembly/kafka/writer";
import { BROKER_ADDRESSES_FROM, MAX_API_KEY } from "../assembly/kafka/generated/schema_tables";
import { BYTE_NEVER } from "../assembly/kafka/layout";

export class GatewayCounters {
  rewritten: Counter = new Counter("gateway.addresses_rewritten");
  unmapped: Counter = new Counter("gateway.brokers_unmapped");
}

// The address being written: one per VM (one walk runs at a time), so that an idle connection
// holds no buffer for it.
const HOST = new ByteBuffer();

// "broker-"
const SNI_HEAD: StaticArray<u8> = [0x62, 0x72, 0x6f, 0x6b, 0x65, 0x72, 0x2d];

// Whether responses to this request can carry broker addresses (their walk then takes the
// layout hooks, and Fetch ones are held whole rather than streamed).
export function carriesBrokers(apiKey: i16, apiVersion: i16): bool {
  if (apiKey < 0 || apiKey > MAX_API_KEY) return false;
  const from = <i16>unchecked(BROKER_ADDRESSES_FROM[apiKey]);
  return from != BYTE_NEVER && apiVersion >= from;
}

export class GatewayStage {
  private hostLengthPtr: usize = 0;
  private nodeId: i32 = -1;
  private hostLen: i32 = -1;
  private compact: bool = false;
  private refused: bool = false;
  // The broker a refused response named.
  refusedNode: i32 = -1;
  constructor(private rules: GatewayRules, private counters: GatewayCounters) {}

  beginResponse(): void {
    this.refused = false;
    this.hostLen = -1;
  }

  // The Host string: its node id is the int32 just before its length prefix (the generator
  // checks that layout for every Role.BrokerHost field).
  brokerHost(lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    this.hostLengthPtr = lengthPtr;
    this.hostLen = len;
    this.compact = compact;
    this.nodeId = <i32>bswap<u32>(load<u32>(lengthPtr - 4));
  }

  // The Port after it: host and port are replaced as one range.
  brokerPort(ptr: usize, edits: FrameEdits): void {
    const len = this.hostLen;
    this.hostLen = -1;
    if (len < 0) return;
    const id = this.nodeId;
    // No broker (FindCoordinator's answer with an error: node -1, "" and -1): nothing to dial.
    if (id < 0 && len == 0) return;
    const rules = this.rules;
    const port = rules.portOf(id);
    if (port < 0) {
      this.counters.unmapped.increment(1);
      this.refusedNode = id;
      if (!edits.dropElement()) this.refused = true;
      return;
    }
    const host = HOST;
    host.clear();
    if (rules.mode == GatewayMode.Map) {
      const h = rules.mappedHost(id);
      host.append(changetype<usize>(h), h.byteLength);
    } else if (rules.mode == GatewayMode.Sni) {
      host.append(changetype<usize>(SNI_HEAD), SNI_HEAD.length);
      const digits = String.UTF8.encode(id.toString());
      host.append(changetype<usize>(digits), digits.byteLength);
      store<u8>(host.reserve(1), 0x2e); // "."
      host.len += 1;
      host.append(changetype<usize>(rules.host), rules.host.byteLength);
    } else {
      host.append(changetype<usize>(rules.host), rules.host.byteLength);
    }
    const mark = edits.bytes.len;
    writeStringLength(edits.bytes, host.len, this.compact);
    edits.bytes.append(host.ptr, host.len);
    writeInt32(edits.bytes, port);
    edits.replace(this.hostLengthPtr, ptr + 4, mark);
    this.counters.rewritten.increment(1);
  }

  // False when an unmapped broker stood outside a list: the response is refused.
  finishResponse(): bool {
    return !this.refused;
  }
}
