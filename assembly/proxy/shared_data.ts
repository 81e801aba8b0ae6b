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
let sharedCas: u32 = 0;

export function lastSharedCas(): u32 {
  return sharedCas;
}
// A count read from and written to the shared data.
const COUNT = memory.data(4);
// Tries to take a place while other workers do the same.
const CAS_TRIES = 8;

// What claimShared found.
export const CLAIM_PRESENT = 0;
export const CLAIM_NEW = 1;
export const CLAIM_FULL = 2;
export const CLAIM_FAILED = 3;

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

// Bounds a family of keys across all workers: at most `max` of them, counted under `countKey`.
// CLAIM_PRESENT when `key` is already set; CLAIM_NEW when a place was taken for it (the caller
// then sets it); CLAIM_FULL when all places are taken (for good: keys are never removed);
// CLAIM_FAILED when the host refused or other workers kept changing the count. The count is
// raised first (compare-and-swap), so concurrent workers never take the family past its bound;
// the first writer sets it unconditionally (a new key has no version to compare), so workers
// doing that at the same moment undercount, once, by at most one each.
export function claimShared(key: usize, keyLen: i32, countKey: usize, countKeyLen: i32, max: u32): i32 {
  if (getShared(key, keyLen, 0, 0) != -1) return CLAIM_PRESENT;
  for (let i = 0; i < CAS_TRIES; i++) {
    const got = getShared(countKey, countKeyLen, COUNT, 4);
    let count: u32 = 0;
    let cas: u32 = 0;
    if (got == 4) {
      count = load<u32>(COUNT);
      cas = sharedCas;
    } else if (got != -1) {
      return CLAIM_FAILED;
    }
    if (count >= max) return CLAIM_FULL;
    store<u32>(COUNT, count + 1);
    const status = setShared(countKey, countKeyLen, COUNT, 4, cas);
    if (status == Status.Ok) return CLAIM_NEW;
    if (status != Status.CasMismatch) return CLAIM_FAILED;
  }
  return CLAIM_FAILED;
}
