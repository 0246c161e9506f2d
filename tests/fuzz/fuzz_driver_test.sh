#!/usr/bin/env bash
# The fuzz driver on a target with a planted bug: the finding aborts the run, names the target, saves the input, and
# both printed replay commands (same --seed and --inputs; the saved file) reproduce it.
set -uo pipefail
planted="$1"
out="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-/tmp}}"
export TEST_UNDECLARED_OUTPUTS_DIR="$out"
fail() { echo "FAIL: $*"; exit 1; }

"$planted" --inputs=5000 --seed=3 >"$out/run.out" 2>"$out/run.err"
status=$?
cat "$out/run.err"
[ "$status" -ne 0 ] || fail "a planted finding did not fail the run"
grep -q "FUZZ FINDING in planted: the planted bug" "$out/run.err" || fail "no finding line"
grep -q "reproduce: bazel run //tests/fuzz:planted_fuzz -- --seed=3 --inputs=5000" "$out/run.err" ||
  fail "no reproduce command with the run's seed and input count"
[ -s "$out/planted-finding" ] || fail "the input was not saved to $out/planted-finding"
[ "$(wc -c <"$out/planted-finding")" -eq 5 ] || fail "the saved input is not the one that failed"

# Replaying the saved file alone finds it again.
cp "$out/planted-finding" "$out/replay-input"
"$planted" "$out/replay-input" >/dev/null 2>"$out/replay.err" && fail "replaying the saved input passed"
grep -q "FUZZ FINDING in planted" "$out/replay.err" || fail "replaying the saved input did not report the finding"

# Without the bug's inputs (no mutations) the run passes and prints its table.
"$planted" --inputs=0 >"$out/clean.out" 2>&1 || fail "the seed corpus alone failed"
grep -q "^planted " "$out/clean.out" || fail "no table"
echo "PASS"
