#!/usr/bin/env bash
# Real published Jest suites, stock Jest against nsbox's zygote mode, interleaved round by round, with
# the same worker count (-w 2). Wall time, and the machine's user and system CPU over each run from
# /proc/stat (the zygote's forks are reaped by the kernel, so rusage would miss them): run it on an
# otherwise idle machine. Medians of ROUNDS rounds.
#   bench/real/measure.sh DIR ROUNDS   (DIR holds the suites and run.sh, see bench/real/README.md)
set -euo pipefail
dir=${1:?usage: measure.sh DIR ROUNDS}; rounds=${2:-3}
cpu() { awk '/^cpu /{print $2+$3, $4+$7+$8}' /proc/stat; }
for round in $(seq "$rounds"); do
  for suite in commander jest-extended dom-testing-library; do
    for mode in stock zygote; do
      read -r u0 s0 < <(cpu); t0=$(date +%s%N)
      rc=0; "$dir/run.sh" "$suite" "$mode" --ci > "/tmp/nsbox-real-$suite-$mode.log" 2>&1 || rc=$?
      t1=$(date +%s%N); read -r u1 s1 < <(cpu)
      tests=$(sed 's/\x1b\[[0-9;]*m//g' "/tmp/nsbox-real-$suite-$mode.log" | grep -E '^Tests:' | tr -s ' ' || true)
      echo "$round $suite $mode $rc $(( (t1 - t0) / 1000000 )) $(( (u1 - u0) * 10 )) $(( (s1 - s0) * 10 )) $tests"
    done
  done
done
