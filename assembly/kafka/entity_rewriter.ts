// Copies a frame while renaming the string entities in it (topic names, group ids,
// transactional ids), re-encoding their length prefixes and the frame size. Everything between
// renamed names, record sets included, is copied as one block.
import { ByteBuffer } from "./byte_buffer";
import { Entity } from "./layout";
import { Visitor, insideTaggedField, walk } from "./walker";
import { writeInt32, writeStringLength } from "./writer";

export const enum RewriteError {
  // A renamed entity inside a tagged field (no current schema has one).
  TaggedField = -100,
  // A new name longer than a string length prefix can carry.
  NameTooLong = -101,
}

// Decides new names. `rename` writes the new name's bytes to `out` and returns true, or
// returns false to keep the name as it is.
export abstract class Renamer {
  abstract rename(entity: i32, ptr: usize, len: i32, out: ByteBuffer): bool;
}

class Copier extends Visitor {
  src: usize = 0;
  // Source bytes before `copied` are already in `out`.
  copied: usize = 0;
  out: ByteBuffer = new ByteBuffer();
  name: ByteBuffer = new ByteBuffer();
  renamer: Renamer | null = null;
  error: i32 = 0;
  renamed: i32 = 0;

  entity(entity: i32, lengthPtr: usize, valuePtr: usize, len: i32, compact: bool): void {
    if (len < 0 || this.error != 0) return;
    if (entity != Entity.TopicName && entity != Entity.GroupId && entity != Entity.TransactionalId) return;
    this.name.clear();
    if (!this.renamer!.rename(entity, valuePtr, len, this.name)) return;
    if (insideTaggedField()) {
      this.error = RewriteError.TaggedField;
      return;
    }
    if (this.name.len > 0x7fff) {
      this.error = RewriteError.NameTooLong;
      return;
    }
    this.out.append(this.copied, <i32>(lengthPtr - this.copied));
    writeStringLength(this.out, this.name.len, compact);
    this.out.append(this.name.ptr, this.name.len);
    this.copied = valuePtr + <usize>len;
    this.renamed++;
  }
}

const copier = new Copier();

// Rewrites the frame at `ptr` (size prefix included, body at `bodyOffset`) into `out`.
// Returns how many names changed, or a negative WalkError/RewriteError (then `out` is unusable).
export function rewriteEntities(ptr: usize, len: i32, bodyOffset: i32, apiKey: i16, apiVersion: i16, isRequest: bool,
  renamer: Renamer, out: ByteBuffer): i32 {
  copier.out = out;
  copier.renamer = renamer;
  copier.copied = ptr;
  copier.error = 0;
  copier.renamed = 0;
  out.clear();
  const n = walk(apiKey, apiVersion, isRequest, ptr + <usize>bodyOffset, len - bodyOffset, copier);
  if (n < 0) return n;
  if (copier.error != 0) return copier.error;
  out.append(copier.copied, <i32>(ptr + <usize>len - copier.copied));
  // The size prefix counts everything after itself.
  const size = out.len - 4;
  out.len = 0;
  writeInt32(out, size);
  out.len = size + 4;
  return copier.renamed;
}
