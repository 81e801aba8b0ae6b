// Captured frames (tests/tools/capture.ts) with their headers decoded, for the codec specs.
import { FRAME_HEX, FRAME_INFO } from "./fixtures/captured_frames";
import { parseRequestHeader, parseResponseHeader, RequestHeader, ResponseHeader } from "../../assembly/kafka/message_header";
import { walk, Visitor } from "../../assembly/kafka/walker";
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { apiName } from "../../assembly/kafka/api_table";
import { Entity } from "../../assembly/kafka/layout";
import { fromHex, text } from "./helpers";

// Collects the string entities of a walk, to compare before and after renaming.
export class Names extends Visitor {
  names: string[] = [];
  entity(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    if (len >= 0 && (entity == Entity.TopicName || entity == Entity.GroupId || entity == Entity.TransactionalId)) {
      this.names.push(text(valuePtr, len));
    }
  }
}

// Captured frame `i`, its header decoded (and checked against what the capture recorded).
export class Captured {
  isRequest: bool;
  apiKey: i16;
  apiVersion: i16;
  frame: ByteBuffer;
  body: i32 = 0;
  label: string = "";

  constructor(i: i32) {
    this.isRequest = FRAME_INFO[i * 3] == 1;
    this.apiKey = FRAME_INFO[i * 3 + 1];
    this.apiVersion = FRAME_INFO[i * 3 + 2];
    this.frame = fromHex(FRAME_HEX[i]);
    this.label = apiName(FRAME_INFO[i * 3 + 1]) + " v" + FRAME_INFO[i * 3 + 2].toString() + (FRAME_INFO[i * 3] == 1 ? " request" : " response");
    if (this.isRequest) {
      const h = new RequestHeader();
      expect(parseRequestHeader(this.frame.ptr, this.frame.len, h)).toBe(0, "header of " + this.label);
      expect(h.apiKey).toBe(this.apiKey);
      expect(h.apiVersion).toBe(this.apiVersion);
      this.body = h.bodyOffset;
    } else {
      const h = new ResponseHeader();
      expect(parseResponseHeader(this.frame.ptr, this.frame.len, this.apiKey, this.apiVersion, h)).toBe(0, "header of " + this.label);
      this.body = h.bodyOffset;
    }
  }

  walkBody(buf: ByteBuffer, v: Visitor): i32 {
    return walk(this.apiKey, this.apiVersion, this.isRequest, buf.ptr + <usize>this.body, buf.len - this.body, v);
  }
}

