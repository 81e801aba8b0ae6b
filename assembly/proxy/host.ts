// Logging, the clock and the tick timer over the ABI (abi.ts), and the module's abort handler.
import { proxy_log, proxy_get_current_time_nanoseconds, proxy_set_tick_period_milliseconds, proc_exit, Status } from "./abi";

export const enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
}

export function log(level: LogLevel, message: string): void {
  const b = String.UTF8.encode(message);
  proxy_log(level, changetype<usize>(b), <u32>b.byteLength);
}

const nanos = memory.data(8);

// Traps (through abort_proc_exit, which logs `message`): for what the host never refuses, and
// what the module cannot go on without.
export function fail(message: string): void {
  throw new Error(message);
}

export function currentTimeNanos(): u64 {
  if (proxy_get_current_time_nanoseconds(nanos) != Status.Ok) fail("host call failed");
  return load<u64>(nanos);
}

// The time of the data callback under way, read from the host the first time a frame of it asks
// (once per callback, not once per frame: a clock read costs Envoy about 1,200 instructions,
// tests/bench/host_calls.ts). Frames of one callback arrived together, so the requests' send
// times and the responses' latencies are theirs. Outside data callbacks (network.ts marks
// them) every call reads the clock.
let callbackNanos: u64 = 0;
let inDataCallback = false;

export function callbackTimeNanos(): u64 {
  if (!inDataCallback) return currentTimeNanos();
  if (callbackNanos == 0) callbackNanos = currentTimeNanos();
  return callbackNanos;
}

export function dataCallback(starts: bool): void {
  inDataCallback = starts;
  callbackNanos = 0;
}

export function setTickPeriod(millis: u32): void {
  if (proxy_set_tick_period_milliseconds(millis) != Status.Ok) fail("host call failed");
}

// The abort handler (asconfig.json: `use abort=abort_proc_exit`): a failed assertion or thrown
// error is logged at critical level, then the VM exits.
// @ts-ignore: decorator
@global
export function abort_proc_exit(message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void {
  let text = "";
  if (message !== null) text += message;
  if (fileName !== null) text += " at: " + fileName + "(" + lineNumber.toString() + ":" + columnNumber.toString() + ")";
  log(LogLevel.Critical, text);
  proc_exit(255);
}
