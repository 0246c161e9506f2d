#!/usr/bin/env bash
# Smoke test of //sim:sim_file_system_benchmark: one tiny repetition must run and print its tables (the figures
# themselves are judged by people, never by a timed test). The benchmark broke unnoticed once because nothing ran it.
set -uo pipefail
benchmark="$1"
out="${TEST_TMPDIR:-/tmp}/benchmark.txt"
"$benchmark" --smoke --directory="${TEST_TMPDIR:-/tmp}" > "$out" 2>&1 || { cat "$out"; echo "FAILED: exit $?"; exit 1; }
for line in "RocksDB cycle: open" "SimFileSystem (simulated)" "real disk with fsync" "speed-up" \
            "Per-operation cost" "create+append+sync+close" "hard link" "fsync directory"; do
  grep -q "$line" "$out" || { cat "$out"; echo "FAILED: no '$line' in the output"; exit 1; }
done
grep -qE 'SimFileSystem \(simulated\) +[0-9]+\.[0-9]ms' "$out" || { cat "$out"; echo "FAILED: no figure"; exit 1; }
grep -q "wrote " "$out" && grep -q "\"speed_up\"" "${TEST_UNDECLARED_OUTPUTS_DIR:-/tmp}/sim_file_system_benchmark.json" || { cat "$out"; echo "FAILED: no JSON"; exit 1; }
"$benchmark" --help | grep -q -- "--smoke" || { echo "FAILED: --help does not document --smoke"; exit 1; }
"$benchmark" --smoek > "$out" 2>&1
code=$?
[ "$code" -eq 2 ] && grep -q "unknown argument '--smoek'" "$out" || { cat "$out"; echo "FAILED: --smoek exited $code"; exit 1; }
echo "benchmark smoke test passed"
