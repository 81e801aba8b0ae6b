// Envoy's shared data: one key-value store per VM id, common to the VMs of all its workers (each
// worker runs its own instance of the module). Bound here without proxy-runtime's wrappers,
// whose get hands the host a buffer where the ABI wants a pointer to one.
import { free } from "@solo-io/proxy-runtime/assembly/malloc";
import { proxy_get_shared_data, proxy_set_shared_data, Status } from "./abi";

// Scratch words the host writes the value's pointer, size and version into.
const outPtr = memory.data(8);
const outSize = memory.data(8);
const outCas = memory.data(8);

// The version of the value the last successful getShared read: a setShared with it succeeds
// only if no one changed the value since.
export let sharedCas: u32 = 0;

// Copies the value of `key` into `dest` (room for `cap` bytes). Returns its length, -1 when the
// key is not set, -2 when the host refused or the value does not fit.
export function getShared(key: usize, keyLen: i32, dest: usize, cap: i32): i32 {
  store<usize>(outPtr, 0);
  store<usize>(outSize, 0);
  const status = proxy_get_shared_data(key, <u32>keyLen, outPtr, outSize, outCas);
  if (status == Status.NotFound) return -1;
  if (status != Status.Ok) return -2;
  sharedCas = load<u32>(outCas);
  const at = load<usize>(outPtr);
  const size = <i32>load<u32>(outSize);
  // The host allocates nothing for an empty value.
  if (size == 0 || at == 0) return 0;
  const fits = size <= cap;
  if (fits) memory.copy(dest, at, <usize>size);
  free(at);
  return fits ? size : -2;
}

// Sets `key` to the `len` bytes at `value`; with `cas` non-zero, only if the value is still the
// version getShared read (else Status.CasMismatch).
export function setShared(key: usize, keyLen: i32, value: usize, len: i32, cas: u32): u32 {
  return proxy_set_shared_data(key, <u32>keyLen, value, <u32>len, cas);
}
