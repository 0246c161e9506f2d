#!/usr/bin/env bash
# The mutation self-test: proves the property tests (and, where they miss, the swarm sweep) catch real bug classes.
# Builds once with --config=mutants (mutation points compiled in, backend/mutation.h), then for each mutant runs the
# property suite with SNAPSIM_MUTANT=<name> for at most the time budget, then the sweep for what is left of it, and
# prints: caught or missed, by which property and invariant, time to catch, shrunk scenario size in steps. Last line:
# `caught K of N`. Exit 0 only when every mutant is caught.
#
#   tests/mutants/run.sh [--budget=SECONDS] [--cases=N] [mutant...]
#
# A shrunk counterexample of each caught mutant is kept in $OUT (default /tmp/snapsim-mutants/<mutant>.scenario);
# replay it with SNAPSIM_MUTANT=<mutant> bazel-out/k8-fastbuildmutants/bin/scenarios/snapsim replay FILE.
set -uo pipefail
cd "$(dirname "$0")/../.."

budget=60
cases=400
mutants=()
for argument in "$@"; do
  case "$argument" in
    --budget=*) budget="${argument#--budget=}" ;;
    --cases=*) cases="${argument#--cases=}" ;;
    -*) echo "usage: tests/mutants/run.sh [--budget=SECONDS] [--cases=N] [mutant...]" >&2; exit 2 ;;
    *) mutants+=("$argument") ;;
  esac
done
if [ ${#mutants[@]} -eq 0 ]; then
  # The list in backend/mutation.h's header comment, in order.
  mapfile -t mutants < <(sed -n 's|^//   \([a-z][a-z-]*\) .*|\1|p' backend/mutation.h)
fi
OUT="${OUT:-/tmp/snapsim-mutants}"
mkdir -p "$OUT"

bazel build --config=mutants //tests:property_test //scenarios:snapsim >"$OUT/build.log" 2>&1 || {
  echo "mutants build failed; see $OUT/build.log" >&2
  exit 2
}
bazel build //scenarios:snapsim >>"$OUT/build.log" 2>&1 || {
  echo "build failed; see $OUT/build.log" >&2
  exit 2
}
clean_snapsim=bazel-out/k8-fastbuild/bin/scenarios/snapsim
bin=bazel-out/k8-fastbuildmutants/bin
property="$bin/tests/property_test"
snapsim="$bin/scenarios/snapsim"

caught=0
total=0
printf '%-30s %-7s %-44s %8s %6s\n' mutant verdict "caught by" seconds steps
for mutant in "${mutants[@]}"; do
  total=$((total + 1))
  rm -f "$OUT/property-"*.scenario
  start=$(date +%s.%N)
  # Properties in file order, every invariant first; the first falsified one stops the run (it has shrunk).
  SNAPSIM_MUTANT="$mutant" SNAPSIM_PROPERTY_OUT="$OUT" RC_PARAMS="max_success=$cases max_size=60" \
    timeout "$budget" "$property" --gtest_break_on_failure=0 --gtest_fail_fast \
    >"$OUT/$mutant.log" 2>&1
  status=$?
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  verdict=missed
  by=""
  steps=""
  if [ $status -ne 0 ] && [ $status -ne 124 ] && grep -q "Falsifiable" "$OUT/$mutant.log"; then
    verdict=caught
    test_name=$(grep -m1 -o '\[  FAILED  \] Property\.[A-Za-z]*' "$OUT/$mutant.log" | sed 's/.*Property\.//')
    invariant=$(grep -m1 -o 'invariant [0-9]* ([^)]*)' "$OUT/$mutant.log" | head -1)
    by="$test_name: ${invariant:-?}"
    file=$(ls -t "$OUT"/property-*.scenario 2>/dev/null | head -1)
    if [ -n "$file" ]; then
      mv "$file" "$OUT/$mutant.scenario"
      steps=$(grep -cE '^[0-9]+ ' "$OUT/$mutant.scenario")
    fi
  else
    # The sweep for what is left of the budget.
    left=$(echo "$budget - $seconds" | bc | cut -d. -f1)
    if [ -n "$left" ] && [ "$left" -gt 0 ] 2>/dev/null; then
      SNAPSIM_MUTANT="$mutant" timeout "$left" "$snapsim" sweep --seeds=100000 --generator=swarm-recoverable \
        --out="$OUT/sweep-$mutant" >"$OUT/$mutant.sweep.log" 2>&1
      if grep -q "FAILED" "$OUT/$mutant.sweep.log"; then
        seed=$(grep -m1 -o '^seed [0-9]*: FAILED' "$OUT/$mutant.sweep.log" | cut -d' ' -f2 | tr -d :)
        SNAPSIM_MUTANT="$mutant" "$snapsim" shrink --seed="$seed" --generator=swarm-recoverable \
          --out="$OUT/$mutant.scenario" --max_runs=400 >"$OUT/$mutant.shrink.log" 2>&1
        verdict=caught
        by="sweep seed $seed: $(grep -m1 -o 'invariant [0-9]* ([^)]*)' "$OUT/$mutant.sweep.log")"
        steps=$(grep -cE '^[0-9]+ ' "$OUT/$mutant.scenario" 2>/dev/null)
      fi
    fi
    seconds=$(echo "$(date +%s.%N) - $start" | bc)
  fi
  # A catch counts only when the shrunk scenario fails with the mutant and passes on the system as built.
  if [ "$verdict" = caught ]; then
    if [ ! -s "$OUT/$mutant.scenario" ]; then
      verdict=invalid
      by="no shrunk scenario written"
    elif SNAPSIM_MUTANT="$mutant" "$snapsim" replay --quiet "$OUT/$mutant.scenario" >"$OUT/$mutant.replay" 2>&1; then
      verdict=invalid
      by="shrunk scenario passes with the mutant"
    elif ! "$clean_snapsim" replay --quiet "$OUT/$mutant.scenario" >"$OUT/$mutant.clean" 2>&1; then
      verdict=invalid
      by="shrunk scenario fails without it too"
    fi
  fi
  [ "$verdict" = caught ] && caught=$((caught + 1))
  printf '%-30s %-7s %-44s %8.1f %6s\n' "$mutant" "$verdict" "${by:0:44}" "$seconds" "${steps:--}"
done
echo "shrunk scenarios and logs: $OUT"
echo "caught $caught of $total"
[ "$caught" -eq "$total" ]
