#!/usr/bin/env bash
# Runs fuzz targets under libFuzzer (clang, ASan + UBSan) from their seed corpus, for a number of inputs.
# Usage: tests/fuzz/run_libfuzzer.sh [--runs=N] [TARGET...]   (default: every target, 10^6 inputs; 10^4 for
# canonical_savepoint, which opens RocksDB per accepted input). A finding leaves crash-* files in the working
# corpus directory and libFuzzer prints the command that replays it; keep such inputs in tests/fuzz/corpus/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=""
targets=()
for arg in "$@"; do
  case "$arg" in
    --runs=*) runs="${arg#--runs=}" ;;
    -*) echo "usage: $0 [--runs=N] [TARGET...]" >&2; exit 2 ;;
    *) targets+=("$arg") ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  targets=(checkpoint_metadata keyed_state_handle state_meta_info store_record scenario canonical_savepoint)
fi
tools/setup.sh --fuzz
labels=()
for target in "${targets[@]}"; do labels+=("//tests/fuzz:${target}_fuzz"); done
# The normal build writes the seed corpora (the project's serializers); the fuzz build runs them.
bazel build "${labels[@]}"
normal="$(bazel info bazel-bin)/tests/fuzz"
bazel build --config=fuzz "${labels[@]}"
fuzz="$(bazel info --config=fuzz bazel-bin)/tests/fuzz"
work="${TMPDIR:-/tmp}/snapsim-fuzz"
status=0
for target in "${targets[@]}"; do
  target_runs="$runs"
  if [ -z "$target_runs" ]; then
    if [ "$target" = canonical_savepoint ]; then target_runs=10000; else target_runs=1000000; fi
  fi
  mkdir -p "$work/$target/seed" "$work/$target/corpus"
  "$normal/${target}_fuzz" --write_corpus="$work/$target/seed" >/dev/null
  kept=()
  if [ -d "tests/fuzz/corpus/$target" ]; then kept=("$PWD/tests/fuzz/corpus/$target"); fi
  echo "== $target: $target_runs inputs (corpus: $work/$target)"
  if (cd "$work/$target" && "$fuzz/${target}_fuzz" -runs="$target_runs" -print_final_stats=1 \
        corpus seed "${kept[@]}" 2>"$work/$target/log"); then
    grep -E "stat::number_of_executed_units|Done" "$work/$target/log" | tr '\n' ' '
    echo
  else
    status=1
    tail -30 "$work/$target/log"
    echo "FINDING in $target: see $work/$target/log; the input is $work/$target/crash-*"
  fi
done
exit $status
