# librdkafka (through confluent-kafka, the PyPI wheel that bundles it) as one of the tests'
# clients. Same commands and output lines as tests/clients/JavaClient.java:
#   produce <bootstrap> <topic> <keyPrefix> <size,size,...>   values from payload(size, index)
#   consume <bootstrap> <topic> <group> <count>               prints "record <key> <size> <sha256>"
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


def produce(bootstrap, topic, key_prefix, sizes):
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "client.id": client_id("rdkafka-producer"),
        "acks": "all",
        "message.max.bytes": 4 * 1024 * 1024,
        "message.timeout.ms": 60000,
    })
    for i, size in enumerate(int(s) for s in sizes.split(",")):
        key = f"{key_prefix}-{i}"
        result = {}
        producer.produce(topic, key=key.encode(), value=payload(size, i),
                         on_delivery=lambda err, msg: result.update(err=err, msg=msg))
        # One record at a time, each acknowledged before the next (offsets are printed).
        while not result:
            producer.poll(0.1)
        if result["err"] is not None:
            fail(result["err"])
        print(f"produced {key} {result['msg'].offset()}", flush=True)
    producer.flush(10)


def consume(bootstrap, topic, group, count):
    errors = []
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "client.id": client_id("rdkafka-consumer"),
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "error_cb": errors.append,
    })
    consumer.subscribe([topic])
    got = 0
    deadline = time.monotonic() + 60
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
            print(f"record {msg.key().decode()} {len(value)} {hashlib.sha256(value).hexdigest()}", flush=True)
            got += 1
        consumer.commit(asynchronous=False)
        print(f"committed {got}", flush=True)
    except KafkaException as e:
        fail(e.args[0])
    finally:
        consumer.close()


def main(argv):
    if len(argv) < 6:
        print("usage: rdkafka_client.py produce|consume <bootstrap> <topic> <keyPrefix|group> <sizes|count>", file=sys.stderr)
        sys.exit(2)
    if argv[1] == "produce":
        produce(argv[2], argv[3], argv[4], argv[5])
    elif argv[1] == "consume":
        consume(argv[2], argv[3], argv[4], int(argv[5]))
    else:
        print(f"unknown command {argv[1]}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
