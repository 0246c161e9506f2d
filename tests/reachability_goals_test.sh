#!/usr/bin/env bash
# The reachability goals in the default suite (#25): a sweep of 100 swarm-recoverable seeds must reach every goal
# of its size (scenarios/reachability_goals.h), and a goal it cannot reach fails the sweep, naming it. The seeds are
# fixed, so the verdict is the same on any machine and under any load.
set -uo pipefail
snapsim="$1"
out="${TEST_TMPDIR:-/tmp}/goals"
mkdir -p "$out"
fail() { echo "FAILED: $*"; exit 1; }

"$snapsim" sweep --generator=swarm-recoverable --seeds=100 --jobs=2 --out="$out" >"$out/sweep.txt" 2>&1
code=$?
grep -E "^(reachability goals|  goal unreached|[0-9]+ seeds)" "$out/sweep.txt"
[ "$code" -eq 0 ] || fail "the 100-seed sweep failed (exit $code); reproduce: bazel run //:snapsim -- sweep --generator=swarm-recoverable --seeds=100 --jobs=2"
applied=$(sed -n 's/^reachability goals: \([0-9]*\) of \([0-9]*\) reached$/\2/p' "$out/sweep.txt")
[ -n "$applied" ] && [ "$applied" -ge 50 ] || fail "fewer than 50 goals applied to a 100-seed sweep: '$applied'"

# A goal the sweep cannot reach fails it and is named; so does an unknown counter (a goal nothing reaches).
"$snapsim" sweep --generator=swarm-recoverable --seeds=2 --first=7 --jobs=1 --out="$out" \
  --require="abort CHECKPOINT_EXPIRED:100000" --require="no such counter:1" >"$out/unreached.txt" 2>&1
code=$?
[ "$code" -eq 1 ] || fail "an unreached --require goal must fail the sweep (exit $code)"
grep -q "goal unreached: abort CHECKPOINT_EXPIRED: [0-9]*, at least 100000 (--require)" "$out/unreached.txt" ||
  fail "the unreached goal is not named: $(tail -5 "$out/unreached.txt")"
grep -q "goal unreached: no such counter: 0, at least 1 (--require)" "$out/unreached.txt" ||
  fail "an unknown counter is not reported as unreached"
grep -q "^2 seeds, 0 failed, 2 goal(s) unreached" "$out/unreached.txt" || fail "the summary line does not count them"
echo "reachability goals: 100 seeds reach every goal of their size; an unreached goal fails the sweep, named"
