// Test-only (captured.spec.ts, the codec microbench tests/bench/codec_bench.ts): copies a frame
// while renaming the string entities in it (topic names, group ids, transactional ids) with the
// codec's one string replacement (FrameEdits.replaceString), which re-encodes their length
// prefixes and the frame size. Everything between renamed names, record sets included, is copied
// as one block. The filter's own renames are filters/rewrite.ts's.
import { ByteBuffer } from "../../assembly/kafka/byte_buffer";
import { Entity } from "../../assembly/kafka/layout";
import { FrameEdits } from "../../assembly/kafka/frame_edits";
import { Visitor, insideTaggedField, walk } from "../../assembly/kafka/walker";

export const enum RewriteError {
  // A renamed entity inside a tagged field (no current schema has one).
  TaggedField = -100,
  // A new name longer than a string length prefix can carry.
  NameTooLong = -101,
  // The edits could not be applied (a layout deeper than the editor tracks).
  Unapplied = -102,
}

// Decides new names. `rename` writes the new name's bytes to `out` and returns true, or
// returns false to keep the name as it is.
export abstract class Renamer {
  abstract rename(entity: i32, ptr: usize, len: i32, out: ByteBuffer): bool;
}

export function renameEntity(edits: FrameEdits, renamer: Renamer, entity: i32, lengthPtr: usize, valuePtr: usize,
  len: i32, compact: bool, name: ByteBuffer): i32 {
  if (len < 0) return 0;
  if (entity != Entity.TopicName && entity != Entity.GroupId && entity != Entity.TransactionalId) return 0;
  name.clear();
  if (!renamer.rename(entity, valuePtr, len, name)) return 0;
  if (insideTaggedField()) return RewriteError.TaggedField;
  if (!edits.replaceString(lengthPtr, valuePtr, len, compact, name.ptr, name.len)) return RewriteError.NameTooLong;
  return 1;
}

class Copier extends Visitor {
  edits: FrameEdits = new FrameEdits();
  name: ByteBuffer = new ByteBuffer();
  renamer: Renamer | null = null;
  error: i32 = 0;
  renamed: i32 = 0;

  entity(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    if (this.error != 0) return;
    const r = renameEntity(this.edits, this.renamer!, entity, lengthPtr, valuePtr, len, compact, this.name);
    if (r < 0) this.error = r;
    else this.renamed += r;
  }
}

const copier = new Copier();

// Rewrites the frame at `ptr` (size prefix included, body at `bodyOffset`) into `out`.
// Returns how many names changed, or a negative WalkError/RewriteError (then `out` is unusable).
export function rewriteEntities(ptr: usize, len: i32, bodyOffset: i32, apiKey: i16, apiVersion: i16, isRequest: bool,
  renamer: Renamer, out: ByteBuffer): i32 {
  copier.renamer = renamer;
  copier.error = 0;
  copier.renamed = 0;
  copier.edits.reset(ptr);
  const n = walk(apiKey, apiVersion, isRequest, ptr + <usize>bodyOffset, len - bodyOffset, copier);
  if (n < 0) return n;
  if (copier.error != 0) return copier.error;
  if (!copier.edits.apply(ptr, len, out)) return RewriteError.Unapplied;
  return copier.renamed;
}
