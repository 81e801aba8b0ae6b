import { KafkaFrame } from "./kafka_frame";
export const enum HeaderError { None = 0 }
export function decodeRequestHeader(f: KafkaFrame): i32 { return 0; }
export function decodeResponseHeader(f: KafkaFrame): i32 { return 0; }
