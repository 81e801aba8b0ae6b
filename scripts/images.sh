#!/usr/bin/env bash
# The containers test bed's local images (tests/harness/containers.ts), for machines where Docker
# answers but Docker Hub does not: built from the same pinned artefacts the process test bed uses.
#   kafka-proxy-wasm/debian:bookworm     a Debian 12 root filesystem from Debian's packages (debootstrap)
#   kafka-proxy-wasm/kafka:<kafka>       + Debian's JRE + .tools/kafka/libs (build/images/kafka)
#   kafka-proxy-wasm/envoy:<envoy>       + .tools/envoy's binary (build/images/envoy)
#   kafka-proxy-wasm/registry:2.8        + Debian's docker-registry (build/images/registry)
# Each image carries the hash of its inputs in the label kafka-proxy-wasm.input and is skipped
# when the tag already has that hash. Needs a Docker engine, debootstrap and root.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ENVOY_VERSION=$(cat .tools/envoy/.stamp)
KAFKA_VERSION=$(cat .tools/kafka/version)
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
LABEL=kafka-proxy-wasm.input
export DOCKER_BUILDKIT=0

image_input() { docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }
image_id() { docker image inspect -f '{{.Id}}' "$1"; }

# The Debian root filesystem, imported as an image.
BASE=kafka-proxy-wasm/debian:$SUITE
base_sum=$( (echo "$SUITE minbase $MIRROR"; sed -n '/^# base:/,/^# end base/p' "$0") | sha256sum | cut -d' ' -f1)
if [ "$(image_input "$BASE")" != "$base_sum" ]; then
# base:
  echo "images: $BASE (debootstrap --variant=minbase $SUITE)"
  command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  rootfs=$(mktemp -d "$ROOT/.tmp/rootfs-XXXXXX")
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 || { tail -20 "$rootfs.log"; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import --change "LABEL $LABEL=$base_sum" - "$BASE" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
# end base
fi
base_id=$(image_id "$BASE")

# build <tag> <dir under build/images> <input hash> <files to copy into the context: src:dest ...>
build() {
  local tag=$1 dir=$2 sum=$3
  shift 3
  if [ "$(image_input "$tag")" = "$sum" ]; then return; fi
  echo "images: $tag"
  local ctx
  ctx=$(mktemp -d "$ROOT/.tmp/image-XXXXXX")
  cp -a "build/images/$dir/." "$ctx/"
  for f in "$@"; do cp -aL "${f%%:*}" "$ctx/${f#*:}"; done
  # The legacy builder (the client may have no buildx): its deprecation notice is not an error.
  docker build -q --network host --build-arg "BASE=$BASE" --label "$LABEL=$sum" -t "$tag" "$ctx" >"$ctx.log" 2>&1 \
    || { cat "$ctx.log"; rm -rf "$ctx" "$ctx.log"; exit 1; }
  rm -f "$ctx.log"
  rm -rf "$ctx"
}
dir_sum() { (echo "$base_id"; cd "build/images/$1" && find . -type f | sort | xargs sha256sum) | sha256sum | cut -d' ' -f1; }

build "kafka-proxy-wasm/kafka:$KAFKA_VERSION" kafka \
  "$( (dir_sum kafka; cat .tools/kafka/.stamp) | sha256sum | cut -d' ' -f1)" ".tools/kafka/libs:libs"
build "kafka-proxy-wasm/envoy:$ENVOY_VERSION" envoy \
  "$( (dir_sum envoy; cat .tools/envoy/.stamp) | sha256sum | cut -d' ' -f1)" ".tools/envoy/envoy/_bin/envoy:envoy"
build "kafka-proxy-wasm/registry:2.8" registry "$(dir_sum registry)"
echo "images: ready ($(docker images --format '{{.Repository}}:{{.Tag}}' 'kafka-proxy-wasm/*' | sort | paste -sd' '))"
