#!/usr/bin/env bash
# The mutation self-test: proves the property tests (and, where they miss, the swarm sweep) catch real bug classes.
# Builds once with --config=mutants (mutation points compiled in, backend/mutation.h), then for each mutant runs the
# property suite with SNAPSIM_MUTANT=<name> (two processes, one per core), then, if no property failed and --sweep=S
# is given, the swarm sweep for S seconds, and prints: caught or missed, by which property and invariant, seconds to detection (the first failing
# case) and in total (detection + shrinking), and the shrunk scenario's size in steps. A mutant counts as caught
# when a failure is detected within --budget seconds (default 60) and its shrunk scenario (shrinking may take
# --shrink_budget more, default 120) fails with the mutant and passes without it. Last line: `caught K of N`; exit 0
# only when every mutant is caught.
#
#   tests/mutants/run.sh [--budget=SECONDS] [--shrink_budget=SECONDS] [--shrinker=ddmin|rapidcheck] [--cases=N]
#                        [--sweep=SECONDS] [mutant...]
#
# A shrunk counterexample of each caught mutant is kept in $OUT (default /tmp/snapsim-mutants/<mutant>.scenario);
# replay it with SNAPSIM_MUTANT=<mutant> bazel-out/k8-fastbuildmutants/bin/scenarios/snapsim replay FILE.
set -uo pipefail
cd "$(dirname "$0")/../.."

budget=60
shrink_budget=120
# ddmin: RapidCheck reports the first failing case unshrunk (noshrink) and snapsim's shrinker minimizes it in seconds;
# rapidcheck: RapidCheck's own shrinking (minutes on long programs).
shrinker=ddmin
# Seconds of swarm sweep (swarm-recoverable) after the properties missed a mutant; its detection time counts from
# the mutant's start, so it must still fall within the budget to count.
sweep=0
cases=100000
mutants=()
for argument in "$@"; do
  case "$argument" in
    --budget=*) budget="${argument#--budget=}" ;;
    --shrink_budget=*) shrink_budget="${argument#--shrink_budget=}" ;;
    --shrinker=*) shrinker="${argument#--shrinker=}" ;;
    --sweep=*) sweep="${argument#--sweep=}" ;;
    --cases=*) cases="${argument#--cases=}" ;;
    -*) echo "usage: tests/mutants/run.sh [--budget=S] [--shrink_budget=S] [--shrinker=ddmin|rapidcheck] [--cases=N]" \
          "[mutant...]" >&2; exit 2 ;;
    *) mutants+=("$argument") ;;
  esac
done
if [ ${#mutants[@]} -eq 0 ]; then
  # The list in backend/mutation.h's header comment, in order.
  mapfile -t mutants < <(sed -n 's|^//   \([a-z][a-z-]*\) .*|\1|p' backend/mutation.h)
fi
OUT="${OUT:-/tmp/snapsim-mutants}"
rc_shrink=""
[ "$shrinker" = ddmin ] && rc_shrink="noshrink=1"
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
printf '%-30s %-7s %-44s %8s %8s %6s\n' mutant verdict "caught by" detected total steps
for mutant in "${mutants[@]}"; do
  total=$((total + 1))
  rm -rf "$OUT/every" "$OUT/others" "$OUT/$mutant.scenario"
  invariant=""
  mkdir -p "$OUT/every" "$OUT/others"
  start=$(date +%s.%N)
  deadline=$(( $(date +%s) + budget ))
  # Two processes (one per core): every invariant at once, and the headline property (then the others, in file
  # order); each runs until a property is falsified (it has shrunk then) or the budgets end. The first to catch the
  # mutant stops the other.
  run_properties() {
    SNAPSIM_MUTANT="$mutant" SNAPSIM_PROPERTY_OUT="$OUT/$2" SNAPSIM_PROPERTY_DEADLINE="$deadline" \
      SNAPSIM_PROPERTY_SHRINK="$shrinker" RC_PARAMS="max_success=$cases max_size=60 $rc_shrink" \
      exec timeout "$((budget + shrink_budget))" "$property" --gtest_filter="$1" --gtest_fail_fast >"$OUT/$mutant.$2.log" 2>&1
  }
  run_properties "Property.EveryInvariantHolds" every &
  every=$!
  run_properties "Property.*:-Property.EveryInvariantHolds" others &
  others=$!
  # The first process to end either caught the mutant (then the other stops) or ran out of budget without a failure
  # (then the other may still be shrinking one: wait for it).
  wait -n "$every" "$others"
  if grep -q "Falsifiable" "$OUT/$mutant.every.log" "$OUT/$mutant.others.log" 2>/dev/null; then
    kill "$every" "$others" 2>/dev/null
  fi
  wait "$every" "$others" 2>/dev/null
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  detected=""
  for tag in every others; do
    if [ -f "$OUT/$tag/first-failure" ]; then
      at=$(echo "$(cat "$OUT/$tag/first-failure") - $start" | bc)
      if [ -z "$detected" ] || [ "$(echo "$at < $detected" | bc)" = 1 ]; then detected=$at; fi
    fi
  done
  verdict=missed
  by=""
  steps=""
  log=""
  for tag in every others; do
    if [ -z "$log" ] && grep -q "Falsifiable" "$OUT/$mutant.$tag.log"; then log="$OUT/$mutant.$tag.log"; found="$tag"; fi
  done
  if [ -n "$log" ]; then
    verdict=caught
    test_name=$(grep -m1 -o '\[  FAILED  \] Property\.[A-Za-z]*' "$log" | sed 's/.*Property\.//')
    invariant=$(grep -m1 -o 'invariant [0-9]* ([^)]*)' "$log" | head -1)
    by="$test_name: ${invariant:-?}"
    file=$(ls -t "$OUT/$found"/property-*.scenario 2>/dev/null | head -1)
    if [ -n "$file" ]; then
      mv "$file" "$OUT/$mutant.scenario"
      steps=$(grep -cE '^[0-9]+ ' "$OUT/$mutant.scenario")
    fi
  else
    # The swarm sweep, when asked for.
    if [ "$sweep" -gt 0 ] 2>/dev/null; then
      sweep_start=$(date +%s.%N)
      SNAPSIM_MUTANT="$mutant" timeout "$sweep" "$snapsim" sweep --seeds=100000 --generator=swarm-recoverable \
        --out="$OUT/sweep-$mutant" >"$OUT/$mutant.sweep.log" 2>&1
      if grep -q '^seed [0-9]*: FAILED' "$OUT/$mutant.sweep.log"; then
        detected=$(echo "$seconds + $(date +%s.%N) - $sweep_start" | bc)
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
    elif SNAPSIM_MUTANT="$mutant" "$snapsim" replay --quiet \
        $(grep -m1 -o -- '--invariants=[0-9,]*' "$OUT/$mutant.scenario") \
        "$OUT/$mutant.scenario" >"$OUT/$mutant.replay" 2>&1; then
      verdict=invalid
      by="shrunk scenario passes with the mutant"
    elif ! "$clean_snapsim" replay --quiet "$OUT/$mutant.scenario" >"$OUT/$mutant.clean" 2>&1; then
      verdict=invalid
      by="shrunk scenario fails without it too"
    elif [ -n "$invariant" ] && ! grep -q "FAIL  $invariant" "$OUT/$mutant.replay"; then
      verdict=invalid
      by="replay fails another invariant than $invariant"
    fi
  fi
  if [ "$verdict" = caught ] && [ -n "$detected" ] && [ "$(echo "$detected > $budget" | bc)" = 1 ]; then
    verdict=late
    by="detected after the ${budget} s budget"
  fi
  [ "$verdict" = caught ] && caught=$((caught + 1))
  printf '%-30s %-7s %-44s %8s %8.1f %6s\n' "$mutant" "$verdict" "${by:0:44}" \
    "$([ -n "$detected" ] && printf '%.1f' "$detected" || echo -)" "$seconds" "${steps:--}"
done
echo "shrunk scenarios and logs: $OUT"
echo "caught $caught of $total"
[ "$caught" -eq "$total" ]
