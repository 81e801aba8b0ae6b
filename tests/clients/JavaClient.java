// Apache Kafka's own Java client as the tests' flexible-version client (it speaks the newest
// versions the broker advertises: Produce v13 with topic ids, Fetch v17+, Metadata v13, ...).
// Run as a single-file program against the jars setup installs:
//   java -cp '.tools/kafka/libs/*' tests/clients/JavaClient.java <command> <args...>
// Commands (one result line per record or step on stdout, for the calling test to check):
//   produce <bootstrap> <topic> <keyPrefix> <size,size,...>   values from payload(size, index)
//   consume <bootstrap> <topic> <group> <count>               prints "record <key> <size> <sha256>"
//                                 topic "regex:<pattern>": a broker-side KIP-848 subscription
//                                 (needs GROUP_PROTOCOL=consumer); the lines end with the topic
//   committed <bootstrap> <topic> <group>                     prints "committed <offset>"
//   logsize <bootstrap> <topic>                               prints "logsize <bytes of partition 0>"
//   txproduce <bootstrap> <topic> <transactionalId> <keyPrefix> <size,size,...>   produce, in one
//                                                              committed transaction
//   transactions <bootstrap>                                  prints "transaction <id> <state>"
//   topicid <bootstrap> <topic>                               prints "topicid <32 hex digits>"
//   createtopics <bootstrap> <name:partitions:rf[:key=value,...]>...   one CreateTopics request;
//                                 prints "created <name>" or "failed <name> <exception>" per topic
// produce reads ACKS (default all) and COMPRESSION (default none) from the environment.
//   create <bootstrap> <topic> <partitions> <replicas>        creates the topic, then prints
//                                 "partition <n> leader <id> replicas <n>" per partition and
//                                 "node <id> <host>:<port>" per broker (Admin.describeCluster)
//   elect <bootstrap> <topic>                                 preferred leader election for every
//                                 partition; prints "leader <partition> <id>" per partition after
// A failure also prints "error <ms since main started> <exception>" on stderr, as the other
// clients' drivers do, so a test can tell how long the client took to surface it.
import java.security.MessageDigest;
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.*;

public class JavaClient {
  static final long START = System.nanoTime();

  // The same deterministic payload the TypeScript tests build (tests/e2e/payload.ts).
  static byte[] payload(int size, int index) {
    byte[] b = new byte[size];
    for (int j = 0; j < size; j++) b[j] = (byte) (index * 31 + j * 7 + (j >> 8));
    return b;
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  public static void main(String[] args) throws Exception {
    try {
      run(args);
    } catch (Throwable e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      System.err.println("error " + (System.nanoTime() - START) / 1_000_000 + " " + cause);
      throw e;
    }
  }

  static void run(String[] args) throws Exception {
    switch (args[0]) {
      case "produce" -> produce(args[1], args[2], args[3], args[4], null);
      case "produceparts" -> produceParts(args[1], args[2], Arrays.copyOfRange(args, 3, args.length));
      case "txproduce" -> produce(args[1], args[2], args[4], args[5], args[3]);
      case "transactions" -> transactions(args[1]);
      case "topicid" -> topicId(args[1], args[2]);
      case "createtopics" -> createTopics(args[1], Arrays.copyOfRange(args, 2, args.length));
      case "elect" -> elect(args[1], args[2]);
      case "create" -> create(args[1], args[2], Integer.parseInt(args[3]), Short.parseShort(args[4]));
      case "consume" -> consume(args[1], args[2], args[3], Integer.parseInt(args[4]));
      case "committed" -> committed(args[1], args[2], args[3]);
      case "logsize" -> logSize(args[1], args[2]);
      default -> throw new IllegalArgumentException("unknown command " + args[0]);
    }
  }

  // The client id (the principal when a test takes principals from client ids): CLIENT_ID in the
  // environment, else the role's default.
  static String clientId(String fallback) {
    return System.getenv().getOrDefault("CLIENT_ID", fallback);
  }

  // SASL_MECHANISM (PLAIN or SCRAM-SHA-256/512), SASL_USER and SASL_PASSWORD in the environment:
  // the client logs in with them (and re-authenticates when the broker's session ends, KIP-368).
  static void sasl(Properties p) {
    String mechanism = System.getenv("SASL_MECHANISM");
    if (mechanism == null) return;
    String module = mechanism.equals("PLAIN") ? "org.apache.kafka.common.security.plain.PlainLoginModule"
        : "org.apache.kafka.common.security.scram.ScramLoginModule";
    p.put("security.protocol", "SASL_PLAINTEXT");
    p.put("sasl.mechanism", mechanism);
    p.put("sasl.jaas.config", module + " required username=\"" + System.getenv("SASL_USER") + "\" password=\""
        + System.getenv("SASL_PASSWORD") + "\";");
  }

  // TLS_CA in the environment (a PEM file): the client speaks TLS and trusts that CA (the
  // gateway's SNI listener); broker names are checked against the certificate.
  static void tls(Properties p) {
    String ca = System.getenv("TLS_CA");
    if (ca == null) return;
    p.put("security.protocol", "SSL");
    p.put("ssl.truststore.type", "PEM");
    p.put("ssl.truststore.location", ca);
  }

  static void produce(String bootstrap, String topic, String keyPrefix, String sizes, String transactionalId)
      throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId("java-producer"));
    sasl(p);
    tls(p);
    p.put(ProducerConfig.ACKS_CONFIG, System.getenv().getOrDefault("ACKS", "all"));
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, System.getenv().getOrDefault("COMPRESSION", "none"));
    // acks=0 or 1 needs idempotence off (Kafka's default turns it on with acks=all).
    if (!p.get(ProducerConfig.ACKS_CONFIG).equals("all")) p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
    // Kafka's defaults unless a test wants a refused producer to give up sooner.
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Integer.parseInt(System.getenv().getOrDefault("DELIVERY_TIMEOUT_MS", "120000")));
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.parseInt(System.getenv().getOrDefault("REQUEST_TIMEOUT_MS", "30000")));
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 * 1024 * 1024);
    p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 64L * 1024 * 1024);
    if (transactionalId != null) p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    try (Producer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
      if (transactionalId != null) {
        producer.initTransactions();
        producer.beginTransaction();
      }
      String[] list = sizes.split(",");
      for (int i = 0; i < list.length; i++) {
        int size = Integer.parseInt(list[i]);
        // SEND_GAP_MS: a pause before each send after the first (to outlive a SASL session).
        if (i > 0) Thread.sleep(Long.parseLong(System.getenv().getOrDefault("SEND_GAP_MS", "0")));
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, keyPrefix + "-" + i, value(size, i));
        for (String h : System.getenv().getOrDefault("HEADERS", "").split(";")) {
          if (h.isEmpty()) continue;
          int eq = h.indexOf('=');
          record.headers().add(h.substring(0, eq), h.substring(eq + 1).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        RecordMetadata m = producer.send(record).get();
        System.out.println("produced " + keyPrefix + "-" + i + " " + m.offset());
      }
      if (transactionalId != null) {
        producer.commitTransaction();
        System.out.println("committed transaction " + transactionalId);
      }
    }
  }

  // One record per value, value i to partition i, sent together (one Produce request, lingering
  // for the batch); prints each record's outcome: "partition i offset n" or "partition i error e".
  static void produceParts(String bootstrap, String topic, String[] values) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId("java-producer"));
    p.put(ProducerConfig.LINGER_MS_CONFIG, 1000);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30000);
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 20000);
    try (Producer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
      List<java.util.concurrent.Future<RecordMetadata>> sent = new ArrayList<>();
      for (int i = 0; i < values.length; i++) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, i, "k" + i, values[i].getBytes(java.nio.charset.StandardCharsets.UTF_8));
        for (String h : System.getenv().getOrDefault("HEADERS", "").split(";")) {
          if (h.isEmpty()) continue;
          int eq = h.indexOf('=');
          record.headers().add(h.substring(0, eq), h.substring(eq + 1).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        sent.add(producer.send(record));
      }
      producer.flush();
      for (int i = 0; i < sent.size(); i++) {
        try {
          System.out.println("partition " + i + " offset " + sent.get(i).get().offset());
        } catch (java.util.concurrent.ExecutionException e) {
          System.out.println("partition " + i + " error " + e.getCause());
        }
      }
    }
  }

  // VALUE in the environment: every record's value instead of payload(size, index), as text or,
  // prefixed "hex:", as bytes (record validation tests). HEADERS: "name=value;name=value" on each.
  static byte[] value(int size, int index) {
    String v = System.getenv("VALUE");
    if (v == null) return payload(size, index);
    if (v.startsWith("hex:")) return HexFormat.of().parseHex(v.substring(4));
    return v.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  static void topicId(String bootstrap, String topic) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId("java-admin"));
    try (Admin admin = Admin.create(p)) {
      var id = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).topicId();
      System.out.println("topicid " + HexFormat.of().toHexDigits(id.getMostSignificantBits())
          + HexFormat.of().toHexDigits(id.getLeastSignificantBits()));
    }
  }

  static void createTopics(String bootstrap, String[] specs) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId("java-admin"));
    List<org.apache.kafka.clients.admin.NewTopic> topics = new ArrayList<>();
    for (String spec : specs) {
      String[] f = spec.split(":");
      var t = new org.apache.kafka.clients.admin.NewTopic(f[0], Integer.parseInt(f[1]), Short.parseShort(f[2]));
      if (f.length > 3) {
        Map<String, String> configs = new HashMap<>();
        for (String kv : f[3].split(",")) configs.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        t.configs(configs);
      }
      topics.add(t);
    }
    try (Admin admin = Admin.create(p)) {
      var result = admin.createTopics(topics);
      for (var e : result.values().entrySet()) {
        try {
          e.getValue().get();
          System.out.println("created " + e.getKey());
        } catch (java.util.concurrent.ExecutionException x) {
          System.out.println("failed " + e.getKey() + " " + x.getCause());
        }
      }
    }
  }

  static void create(String bootstrap, String topic, int partitions, short replicas) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId("java-admin"));
    tls(p);
    try (Admin admin = Admin.create(p)) {
      admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, partitions, replicas))).all().get();
      var d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
      for (var info : d.partitions()) {
        System.out.println("partition " + info.partition() + " leader " + (info.leader() == null ? -1 : info.leader().id())
            + " replicas " + info.replicas().size());
      }
      for (var node : admin.describeCluster().nodes().get()) {
        System.out.println("node " + node.id() + " " + node.host() + ":" + node.port());
      }
    }
  }

  static void elect(String bootstrap, String topic) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId("java-admin"));
    tls(p);
    try (Admin admin = Admin.create(p)) {
      var d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
      Set<TopicPartition> all = new HashSet<>();
      for (var info : d.partitions()) all.add(new TopicPartition(topic, info.partition()));
      try {
        admin.electLeaders(org.apache.kafka.common.ElectionType.PREFERRED, all).all().get();
      } catch (java.util.concurrent.ExecutionException e) {
        // ELECTION_NOT_NEEDED for partitions already led by their preferred replica.
        if (!(e.getCause() instanceof org.apache.kafka.common.errors.ElectionNotNeededException)) throw e;
      }
      for (var info : admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions()) {
        System.out.println("leader " + info.partition() + " " + (info.leader() == null ? -1 : info.leader().id()));
      }
    }
  }

  static void transactions(String bootstrap) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(p)) {
      for (var t : admin.listTransactions().all().get()) {
        System.out.println("transaction " + t.transactionalId() + " " + t.state());
      }
    }
  }

  static Properties consumerProps(String bootstrap, String group) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId("java-consumer"));
    p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    // "consumer" for KIP-848's group protocol (ConsumerGroupHeartbeat, assignments by topic id).
    p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, System.getenv().getOrDefault("GROUP_PROTOCOL", "classic"));
    tls(p);
    return p;
  }

  static void consume(String bootstrap, String topic, String group, int count) throws Exception {
    try (Consumer<String, byte[]> c = new KafkaConsumer<>(consumerProps(bootstrap, group), new StringDeserializer(),
        new ByteArrayDeserializer())) {
      boolean byPattern = topic.startsWith("regex:");
      if (byPattern) c.subscribe(new SubscriptionPattern(topic.substring(6)));
      else c.subscribe(List.of(topic));
      int seen = 0;
      long deadline = System.currentTimeMillis() + 60_000;
      while (seen < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
          System.out.println("record " + r.key() + " " + r.value().length + " " + sha256(r.value())
              + (byPattern ? " " + r.topic() : ""));
          seen++;
        }
        c.commitSync();
      }
      System.out.println("consumed " + seen);
    }
  }

  // The bytes partition 0 of the topic holds on the broker: the record batches as produced.
  static void logSize(String bootstrap, String topic) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(p)) {
      var dirs = admin.describeLogDirs(List.of(1)).allDescriptions().get().get(1);
      long size = 0;
      for (var dir : dirs.values()) {
        var info = dir.replicaInfos().get(new TopicPartition(topic, 0));
        if (info != null) size += info.size();
      }
      System.out.println("logsize " + size);
    }
  }

  static void committed(String bootstrap, String topic, String group) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(p)) {
      var offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      OffsetAndMetadata o = offsets.get(new TopicPartition(topic, 0));
      System.out.println("committed " + (o == null ? -1 : o.offset()));
    }
  }
}
