#!/usr/bin/env bash
# The README's test command (`npm test`), also what .ci/run runs: installs what is missing,
# builds the module, runs the as-pect codec tests and the node:test suites (codegen check,
# Envoy config validation, e2e against real Envoy + Kafka), and ends with one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp
bash scripts/setup.sh || { echo "0 passed, 1 failed (setup)"; exit 1; }
npm run --silent build || { echo "0 passed, 1 failed (build)"; exit 1; }

npx asp --config as-pect.config.js 2>&1 | tee .tmp/unit.log
unit_status=${PIPESTATUS[0]}
# as-pect's summary line: "[Tests]: <passed> / <total>", with colour codes.
read -r unit_pass unit_total < <(sed 's/\x1b\[[0-9;]*m//g' .tmp/unit.log | sed -n 's/.*\[Tests\]: *\([0-9]*\) *\/ *\([0-9]*\).*/\1 \2/p' | tail -1)
unit_pass=${unit_pass:-0}
unit_fail=$(( ${unit_total:-1} - unit_pass ))
[ "$unit_status" -ne 0 ] && [ "$unit_fail" -eq 0 ] && unit_fail=1

# "passed failed" of a node:test spec-reporter log; a run that failed without a failed test (it
# crashed) counts as one failure.
counts() {
  local pass fail
  pass=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$1" | tail -1)
  fail=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$1" | tail -1)
  pass=${pass:-0}
  fail=${fail:-0}
  [ "$2" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
  echo "$pass $fail"
}

# Every suite on the process test bed; then a subset again on the containers test bed.
KAFKA_PROXY_TESTBED=process node --import tsx --test --test-concurrency=1 --test-reporter=spec \
  tests/tree/*.test.ts tests/codegen/*.test.ts tests/host/*.test.ts tests/e2e/*.test.ts tests/bench/*.test.ts 2>&1 | tee .tmp/node.log
node_status=${PIPESTATUS[0]}
read -r node_pass node_fail < <(counts .tmp/node.log "$node_status")

# The containers test bed (tests/harness/containers.ts): the passthrough, authorization and
# rewrite suites, the three that cover each part the containers change (broker, Envoy with the
# module and its config mounted, both clients, the direct listener) in about 4 minutes; the
# other suites run the same harness code on processes above. Containers a killed run left
# behind (Ryuk is off where its image is absent) are removed first.
if [ "${KAFKA_PROXY_TESTBED:-containers}" != process ]; then
  if KAFKA_PROXY_TESTBED=containers bash scripts/setup.sh >.tmp/setup-containers.log 2>&1; then
    stale=$(docker ps -aq --filter label=kafka-proxy-wasm.testbed)
    [ -n "$stale" ] && docker rm -f $stale >/dev/null 2>&1
    KAFKA_PROXY_TESTBED=containers node --import tsx --test --test-concurrency=1 --test-reporter=spec \
      tests/e2e/passthrough.test.ts tests/e2e/authz.test.ts tests/e2e/rewrite.test.ts 2>&1 | tee .tmp/containers.log
    c_status=${PIPESTATUS[0]}
    read -r c_pass c_fail < <(counts .tmp/containers.log "$c_status")
  else
    cat .tmp/setup-containers.log
    echo "containers test bed: setup failed"
    c_pass=0
    c_fail=1
  fi
  node_pass=$((node_pass + c_pass))
  node_fail=$((node_fail + c_fail))
fi

echo "$((unit_pass + node_pass)) passed, $((unit_fail + node_fail)) failed"
[ $((unit_fail + node_fail)) -eq 0 ]
