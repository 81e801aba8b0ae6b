# librdkafka (through confluent-kafka, the PyPI wheel that bundles it) as one of the tests'
# clients. Same commands and output lines as tests/clients/JavaClient.java:
#   produce <bootstrap> <topic> <keyPrefix> <size,size,...>   values from payload(size, index)
#   consume <bootstrap> <topic> <group> <count>               prints "record <key> <size> <sha256>"
#   list <bootstrap>                                          list_topics(): prints "topic <name>" each
#   subscribe <bootstrap> <regex> <group> <count>             consume by a regex subscription (librdkafka
#                                                             takes a topic starting with "^" as a regex,
#                                                             matched against all-topics Metadata):
#                                                             prints "assigned <topic> <partition>" and
#                                                             "record <topic> <key> <size> <sha256>"
# TIMEOUT_S in the environment bounds list and consume (default 30 s and 60 s).
# CLIENT_ID in the environment sets the client id (the principal when the filter takes
# principals from client ids). A failure prints "error <elapsed ms> <librdkafka error name>
# <message>" on stderr and exits 1, so a test can check which error the client surfaced and how
# long it took. Run with PYTHONPATH=.tools/python (scripts/setup.sh installs the wheel there).
import hashlib
import os
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

START = time.monotonic()


def payload(size, index):
    # The same deterministic payload the TypeScript tests build (tests/e2e/payload.ts).
    return bytes((index * 31 + j * 7 + (j >> 8)) & 0xFF for j in range(size))


def fail(err):
    name = err.name() if isinstance(err, KafkaError) else type(err).__name__
    print(f"error {int((time.monotonic() - START) * 1000)} {name} {err}", file=sys.stderr, flush=True)
    sys.exit(1)


def client_id(fallback):
    return os.environ.get("CLIENT_ID") or fallback


def value(size, index):
    # VALUE in the environment: every record's value, as text or, prefixed "hex:", as bytes.
    v = os.environ.get("VALUE")
    if v is None:
        return payload(size, index)
    return bytes.fromhex(v[4:]) if v.startswith("hex:") else v.encode()


def headers():
    # HEADERS: "name=value;name=value" on every record.
    return [tuple(h.split("=", 1)) for h in (os.environ.get("HEADERS") or "").split(";") if h]


def produce(bootstrap, topic, key_prefix, sizes):
    producer = Producer({
        "compression.type": os.environ.get("COMPRESSION") or "none",
        "bootstrap.servers": bootstrap,
        "client.id": client_id("rdkafka-producer"),
        "acks": "all",
        "message.max.bytes": 4 * 1024 * 1024,
        "message.timeout.ms": 60000,
    })
    for i, size in enumerate(int(s) for s in sizes.split(",")):
        key = f"{key_prefix}-{i}"
        result = {}
        producer.produce(topic, key=key.encode(), value=value(size, i), headers=headers(),
                         on_delivery=lambda err, msg: result.update(err=err, msg=msg))
        # One record at a time, each acknowledged before the next (offsets are printed).
        while not result:
            producer.poll(0.1)
        if result["err"] is not None:
            fail(result["err"])
        print(f"produced {key} {result['msg'].offset()}", flush=True)
    producer.flush(10)


def list_topics(bootstrap):
    # The all-topics Metadata request (librdkafka's, with bytes after its message).
    producer = Producer({"bootstrap.servers": bootstrap, "client.id": client_id("rdkafka-lister")})
    try:
        metadata = producer.list_topics(timeout=float(os.environ.get("TIMEOUT_S") or 30))
    except KafkaException as e:
        fail(e.args[0])
    for name in sorted(metadata.topics):
        err = metadata.topics[name].error
        if err is not None:
            fail(err)
        print(f"topic {name}", flush=True)


def consume(bootstrap, topic, group, count, with_topic=False):
    errors = []
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "client.id": client_id("rdkafka-consumer"),
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "error_cb": errors.append,
    })
    def on_assign(consumer, partitions):
        # Which topics the regex matched: the proof that nothing else was ever assigned.
        for p in partitions:
            print(f"assigned {p.topic} {p.partition}", flush=True)

    consumer.subscribe([topic], **({"on_assign": on_assign} if with_topic else {}))
    got = 0
    deadline = time.monotonic() + float(os.environ.get("TIMEOUT_S") or 60)
    try:
        while got < count:
            if time.monotonic() > deadline:
                fail(TimeoutError(f"read {got} of {count} records"))
            msg = consumer.poll(0.5)
            for e in errors:
                if e.fatal() or e.code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED):
                    fail(e)
            if msg is None:
                continue
            if msg.error() is not None:
                # A refused topic or group ends the run with the client's own error.
                fail(msg.error())
            value = msg.value() or b""
            named = f"{msg.topic()} " if with_topic else ""
            print(f"record {named}{msg.key().decode()} {len(value)} {hashlib.sha256(value).hexdigest()}", flush=True)
            got += 1
        consumer.commit(asynchronous=False)
        print(f"committed {got}", flush=True)
    except KafkaException as e:
        fail(e.args[0])
    finally:
        consumer.close()


def main(argv):
    if len(argv) == 3 and argv[1] == "list":
        list_topics(argv[2])
        return
    if len(argv) < 6:
        print("usage: rdkafka_client.py produce|consume|subscribe <bootstrap> <topic|regex> <keyPrefix|group> <sizes|count>"
              " | list <bootstrap>", file=sys.stderr)
        sys.exit(2)
    if argv[1] == "produce":
        produce(argv[2], argv[3], argv[4], argv[5])
    elif argv[1] == "consume":
        consume(argv[2], argv[3], argv[4], int(argv[5]))
    elif argv[1] == "subscribe":
        if not argv[3].startswith("^"):
            print("a regex subscription starts with ^", file=sys.stderr)
            sys.exit(2)
        consume(argv[2], argv[3], argv[4], int(argv[5]), with_topic=True)
    else:
        print(f"unknown command {argv[1]}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
