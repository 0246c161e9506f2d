#!/usr/bin/env bash
# Smoke test of a benchmark: one tiny repetition (--smoke) runs, prints its table and each expected summary line,
# and writes its JSON file. It checks that the benchmark works, never how fast.
set -uo pipefail
benchmark="$1"
shift
out="${TEST_TMPDIR:-/tmp}/bench-smoke"
mkdir -p "$out"
name="$(basename "$benchmark")"
if ! "$benchmark" --smoke --json="$out/$name.json" >"$out/stdout" 2>"$out/stderr"; then
  cat "$out/stdout" "$out/stderr"
  echo "FAIL: $name --smoke exited non-zero; reproduce: bazel run //tests/bench:$name -- --smoke"
  exit 1
fi
cat "$out/stdout"
# The flags: --help documents --smoke; an unknown flag is refused before anything runs (a typo must not measure the
# defaults silently).
"$benchmark" --help >"$out/help" 2>&1 || { echo "FAIL: $name --help exited non-zero"; exit 1; }
grep -q -- "--smoke" "$out/help" || { echo "FAIL: $name --help does not document --smoke"; exit 1; }
"$benchmark" --smoek >"$out/typo" 2>&1
code=$?
[ "$code" -eq 2 ] && grep -q "unknown argument '--smoek'" "$out/typo" ||
  { echo "FAIL: $name --smoek exited $code: $(cat "$out/typo")"; exit 1; }
for expected in "$@"; do
  grep -qF -- "$expected" "$out/stdout" || { echo "FAIL: no '$expected' in the output"; exit 1; }
done
grep -q '"tables"' "$out/$name.json" || { echo "FAIL: no JSON written"; exit 1; }
grep -q '"rows": \[$' "$out/$name.json" && ! grep -q '"rows": \[\]' "$out/$name.json" ||
  { echo "FAIL: a table without rows"; exit 1; }
echo "PASS"
