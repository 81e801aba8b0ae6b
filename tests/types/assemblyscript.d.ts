// The AssemblyScript types of the one file both sides import: the captured frames
// (tests/spec/fixtures/captured_frames.ts), read by the specs and by the Node fuzzer.
type i16 = number;
type StaticArray<T> = T[];
