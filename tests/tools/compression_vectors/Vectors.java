// Writes the originals of the compression test vectors and their compressed forms made by the
// reference implementations the Kafka Java client uses: Compression.gzip/snappy/lz4 of
// kafka-clients (GZIPOutputStream, snappy-java's Xerial SnappyOutputStream, Lz4BlockOutputStream
// for magic v2), and snappy-java's raw Snappy.compress (the framing librdkafka and kafkajs write).
// Run by make_vectors.py. The generator `gen` is mirrored in tests/assembly/compression.spec.ts.
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.utils.internals.ByteBufferOutputStream;

public class Vectors {
  static int s;
  static int next() { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return s; }
  static int below(int n) { return Integer.remainderUnsigned(next(), n); }
  static final String[] WORDS = {"kafka ", "record ", "batch ", "topic ", "partition ", "offset ", "envoy ", "wasm "};

  // kind: 0 empty, 1 16-letter random text, 2 random bytes, 3 words, 4 byte runs,
  // 5 32 KiB of kind 1 repeated at distance 32768, 6 pieces of kinds 1-4 (mostly 3 and 4).
  static void piece(byte[] b, int from, int to, int kind) {
    int i = from;
    while (i < to) {
      if (kind == 1) b[i++] = (byte) ('a' + (next() & 15));
      else if (kind == 2) b[i++] = (byte) next();
      else if (kind == 3) { String w = WORDS[next() & 7]; for (int k = 0; k < w.length() && i < to; k++) b[i++] = (byte) w.charAt(k); }
      else { byte v = (byte) next(); int m = 1 + below(300); for (int k = 0; k < m && i < to; k++) b[i++] = v; }
    }
  }

  static byte[] gen(int kind, int seed, int n) {
    s = seed;
    byte[] b = new byte[n];
    if (kind <= 4) piece(b, 0, n, kind);
    else if (kind == 5) { piece(b, 0, Math.min(n, 32768), 1); for (int i = 32768; i < n; i++) b[i] = b[i - 32768]; }
    else { int i = 0; while (i < n) { int r = below(8); int k = r == 0 ? 2 : r == 1 ? 1 : 3 + (r & 1); int m = Math.min(n, i + 1 + below(4000)); piece(b, i, m, k); i = m; } }
    return b;
  }

  static byte[] compress(Compression c, byte[] data) throws Exception {
    ByteBufferOutputStream out = new ByteBufferOutputStream(1024);
    try (OutputStream o = c.wrapForOutput(out, RecordBatch.MAGIC_VALUE_V2)) {
      // In pieces, as the producer writes records.
      for (int i = 0; i < data.length; i += 700) o.write(data, i, Math.min(700, data.length - i));
    }
    ByteBuffer b = out.buffer();
    b.flip();
    byte[] r = new byte[b.remaining()];
    b.get(r);
    return r;
  }

  public static void main(String[] args) throws Exception {
    if (args[0].equals("--files")) {
      // Each file compressed as the Java client does, next to it (used by compression_fuzz.test.ts).
      for (int a = 1; a < args.length; a++) {
        byte[] o = Files.readAllBytes(Path.of(args[a]));
        Files.write(Path.of(args[a] + ".java-gzip"), compress(Compression.gzip().build(), o));
        Files.write(Path.of(args[a] + ".java-snappy"), compress(Compression.snappy().build(), o));
        Files.write(Path.of(args[a] + ".java-lz4"), compress(Compression.lz4().build(), o));
        Files.write(Path.of(args[a] + ".raw-snappy"), org.xerial.snappy.Snappy.compress(o));
      }
      return;
    }
    Path dir = Path.of(args[0]);
    // name kind seed length, one per argument after the directory
    for (int a = 1; a + 3 < args.length; a += 4) {
      String name = args[a];
      byte[] o = gen(Integer.parseInt(args[a + 1]), Integer.parseInt(args[a + 2]), Integer.parseInt(args[a + 3]));
      Files.write(dir.resolve("orig-" + name), o);
      Files.write(dir.resolve("java-gzip-" + name), compress(Compression.gzip().build(), o));
      Files.write(dir.resolve("java-snappy-" + name), compress(Compression.snappy().build(), o));
      Files.write(dir.resolve("java-lz4-" + name), compress(Compression.lz4().build(), o));
      Files.write(dir.resolve("raw-snappy-" + name), org.xerial.snappy.Snappy.compress(o));
    }
  }
}
