#!/usr/bin/env python3
"""Makes tests/assembly/fixtures/compression_vectors.ts: compressed forms of generated originals,
made by reference implementations on this machine: the Kafka Java client's codecs and snappy-java
(Vectors.java, run with the machine's java on .tools/kafka/libs), Python's zlib/gzip (the zlib
that kafkajs and librdkafka use too) and the lz4 command-line tool (liblz4's frame encoder).
Each vector is checked here against the reference decoder before it is written.
Run from the repository root: python3 tests/tools/compression_vectors/make_vectors.py"""
import glob, gzip, os, struct, subprocess, tempfile, zlib

ROOT = os.getcwd()
HERE = os.path.join(ROOT, "tests/tools/compression_vectors")
OUT = os.path.join(ROOT, "tests/assembly/fixtures/compression_vectors.ts")
# name: (kind, seed, length); kinds as in Vectors.java's gen.
ORIGINALS = {
    "empty": (0, 1, 0),
    "words5k": (3, 7, 5000),
    "text8k": (1, 11, 8000),
    "random3k": (2, 13, 3000),
    "runs50k": (4, 17, 50000),
    "far34k": (5, 19, 34000),
    "mixed70k": (6, 23, 70000),
}
GZIP, SNAPPY, LZ4 = 1, 2, 3

tmp = tempfile.mkdtemp()
libs = ":".join(sorted(glob.glob(os.path.join(ROOT, ".tools/kafka/libs/*.jar"))))
subprocess.run(["javac", "-d", os.path.join(tmp, "cls"), "-cp", libs, os.path.join(HERE, "Vectors.java")], check=True)
args = [x for n, (k, s, l) in ORIGINALS.items() for x in (n, str(k), str(s), str(l))]
subprocess.run(["java", "-cp", os.path.join(tmp, "cls") + ":" + libs, "Vectors", tmp] + args, check=True)

def read(name):
    with open(os.path.join(tmp, name), "rb") as f:
        return f.read()

orig = {n: read("orig-" + n) for n in ORIGINALS}
vectors = []  # (name, codec, original, compressed)
for n in ORIGINALS:
    vectors.append(("java-gzip-" + n, GZIP, n, read("java-gzip-" + n)))
    vectors.append(("java-snappy-xerial-" + n, SNAPPY, n, read("java-snappy-" + n)))
    vectors.append(("java-lz4-" + n, LZ4, n, read("java-lz4-" + n)))
    vectors.append(("snappy-java-raw-" + n, SNAPPY, n, read("raw-snappy-" + n)))

def zgzip(data, level=6, strategy=zlib.Z_DEFAULT_STRATEGY):
    c = zlib.compressobj(level, zlib.DEFLATED, 31, 9, strategy)
    return c.compress(data) + c.flush()

o = orig["words5k"]
raw = zlib.compressobj(6, zlib.DEFLATED, -15)
body = raw.compress(o) + raw.flush()
# FTEXT|FHCRC|FEXTRA|FNAME|FCOMMENT; the header CRC16 is the low half of the header's CRC32.
head = b"\x1f\x8b\x08\x1f" + b"\0\0\0\0\0\x03" + struct.pack("<H", 5) + b"kafka" + b"name.txt\0" + b"a comment\0"
head += struct.pack("<H", zlib.crc32(head) & 0xffff)
sync = zlib.compressobj(6, zlib.DEFLATED, 31)
m = orig["mixed70k"]
synced = sync.compress(m[:30000]) + sync.flush(zlib.Z_SYNC_FLUSH) + sync.flush(zlib.Z_FULL_FLUSH) + sync.compress(m[30000:]) + sync.flush()
vectors += [
    ("python-gzip-empty", GZIP, "empty", gzip.compress(b"", mtime=0)),
    ("python-gzip-level0-stored-mixed70k", GZIP, "mixed70k", gzip.compress(m, 0, mtime=0)),
    ("python-gzip-level9-far34k", GZIP, "far34k", gzip.compress(orig["far34k"], 9, mtime=0)),
    ("python-gzip-level1-text8k", GZIP, "text8k", gzip.compress(orig["text8k"], 1, mtime=0)),
    ("python-zlib-fixed-huffman-words5k", GZIP, "words5k", zgzip(o, 9, zlib.Z_FIXED)),
    ("python-zlib-fixed-huffman-mixed70k", GZIP, "mixed70k", zgzip(m, 9, zlib.Z_FIXED)),
    ("python-zlib-huffman-only-text8k", GZIP, "text8k", zgzip(orig["text8k"], 6, zlib.Z_HUFFMAN_ONLY)),
    ("python-zlib-rle-runs50k", GZIP, "runs50k", zgzip(orig["runs50k"], 6, zlib.Z_RLE)),
    ("python-zlib-sync-flush-mixed70k", GZIP, "mixed70k", synced),
    ("python-gzip-3-members-words5k", GZIP, "words5k", gzip.compress(o[:1234], mtime=0) + gzip.compress(b"", mtime=0) + gzip.compress(o[1234:], mtime=0)),
    ("python-gzip-all-header-fields-words5k", GZIP, "words5k", head + body + struct.pack("<II", zlib.crc32(o), len(o))),
]

def lz4cli(name, flags):
    p = os.path.join(tmp, "in-" + name)
    with open(p, "wb") as f:
        f.write(orig[name])
    return subprocess.run(["lz4", "-q", "-c"] + flags + [p], check=True, capture_output=True).stdout

vectors += [
    ("lz4-cli-default-mixed70k", LZ4, "mixed70k", lz4cli("mixed70k", [])),
    ("lz4-cli-linked-64k-mixed70k", LZ4, "mixed70k", lz4cli("mixed70k", ["-BD", "-B4"])),
    ("lz4-cli-linked-64k-far34k", LZ4, "far34k", lz4cli("far34k", ["-BD", "-B4"])),
    ("lz4-cli-block-checksums-content-size-mixed70k", LZ4, "mixed70k", lz4cli("mixed70k", ["-BX", "-B4", "--content-size"])),
    ("lz4-cli-no-content-checksum-runs50k", LZ4, "runs50k", lz4cli("runs50k", ["--no-frame-crc"])),
    ("lz4-cli-hc-text8k", LZ4, "text8k", lz4cli("text8k", ["-9"])),
    ("lz4-cli-random3k", LZ4, "random3k", lz4cli("random3k", [])),
    ("lz4-cli-empty", LZ4, "empty", lz4cli("empty", [])),
    ("lz4-cli-2-frames-words5k", LZ4, "words5k", lz4cli("words5k", []) + lz4cli("words5k", ["-BX"])[:0] + b""),
]
# Two frames: the frames of two halves, concatenated.
h = os.path.join(tmp, "half")
parts = b""
for piece in (o[:2000], o[2000:]):
    with open(h, "wb") as f:
        f.write(piece)
    parts += subprocess.run(["lz4", "-q", "-c", "-BX", h], check=True, capture_output=True).stdout
vectors[-1] = ("lz4-cli-2-frames-words5k", LZ4, "words5k", parts)

# Check every vector with the reference decoders (snappy: snappy-java, by the Java client below).
for name, codec, on, data in vectors:
    if codec == GZIP:
        assert gzip.decompress(data) == orig[on], name
    elif codec == LZ4:
        assert subprocess.run(["lz4", "-d", "-c"], input=data, capture_output=True, check=True).stdout == orig[on], name

lines = [
    "// GENERATED by tests/tools/compression_vectors/make_vectors.py (see there and Vectors.java):",
    "// compressed by the reference implementations; the originals come from gen() in the spec.",
    "",
    f"export const VECTOR_COUNT = {len(vectors)};",
    "// Per vector: codec (1 gzip, 2 snappy, 3 lz4), original kind, seed, length, CRC32 of the original.",
    "export const VECTOR_INFO: StaticArray<u32> = [",
]
for name, codec, on, data in vectors:
    k, s, l = ORIGINALS[on]
    lines.append(f"  {codec}, {k}, {s}, {l}, 0x{zlib.crc32(orig[on]):08x},")
lines += ["];", "export const VECTOR_NAME: StaticArray<string> = ["]
lines += [f'  "{name}",' for name, *_ in vectors]
lines += ["];", "export const VECTOR_HEX: StaticArray<string> = ["]
lines += [f'  "{data.hex()}",' for *_, data in vectors]
lines += ["];", ""]
with open(OUT, "w") as f:
    f.write("\n".join(lines))
print(len(vectors), "vectors,", sum(len(v[3]) for v in vectors), "compressed bytes")
