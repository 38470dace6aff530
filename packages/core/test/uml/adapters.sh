#!/bin/bash
# One guest boot for the adapters (limits.test.ts): Jest and Vitest, each in zygote and fresh mode, on a
# file that leaks past memoryMax and one that does not. Each run's output and JSON report come back
# as sections `== NAME status=N` then its stderr, then `== NAME.json` then the report.
e2e=$(cd "$(dirname "$0")/../../../../e2e" && pwd)
section() { echo "== $1 status=$2"; cat /tmp/out; echo "== $1.json"; cat /tmp/stats.json 2>/dev/null; echo; rm -f /tmp/stats.json; }
cd "$e2e/suite"
for mode in zygote fresh; do
  NSBOX_E2E_MODE=$mode NSBOX_E2E_STATS=/tmp/stats.json CI=true FORCE_COLOR=0 node node_modules/jest/bin/jest.js -c jest.limits.config.cjs >/tmp/out 2>&1
  section "jest-$mode" $?
done
cd "$e2e/vitest4"
for mode in zygote fresh; do
  NSBOX_E2E_MODE=$mode NSBOX_E2E_STATS=/tmp/stats.json CI=true NO_COLOR=1 node node_modules/vitest/vitest.mjs run --configLoader runner -c vitest.limits.config.mjs >/tmp/out 2>&1
  section "vitest-$mode" $?
done
cd /sys/fs/cgroup && echo "== groups-after" && for g in */; do [ -d "$g" ] && echo "$g"; done; exit 0
