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

node --import tsx --test --test-concurrency=1 --test-reporter=spec \
  tests/tree/*.test.ts tests/codegen/*.test.ts tests/host/*.test.ts tests/e2e/*.test.ts tests/bench/*.test.ts 2>&1 | tee .tmp/node.log
node_status=${PIPESTATUS[0]}
node_pass=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' .tmp/node.log | tail -1)
node_fail=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' .tmp/node.log | tail -1)
node_pass=${node_pass:-0}
node_fail=${node_fail:-0}
[ "$node_status" -ne 0 ] && [ "$node_fail" -eq 0 ] && node_fail=1

echo "$((unit_pass + node_pass)) passed, $((unit_fail + node_fail)) failed"
[ $((unit_fail + node_fail)) -eq 0 ]
