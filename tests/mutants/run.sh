#!/usr/bin/env bash
# The mutation self-test: proves the property tests (and, where they miss, the swarm sweep) catch real bug classes.
# Builds once with --config=mutants (mutation points compiled in, backend/mutation.h), then for each mutant runs the
# property suite with SNAPSIM_MUTANT=<name> (two processes, one per core) for up to --cases cases each, then, if no
# property failed, the swarm-recoverable sweep for up to --seeds seeds, and prints: caught or missed, by which
# property and invariant, the cases (or the sweep seed) to detection against the budget (the margin: how many times
# the catch fits in it), seconds to detection and in total, and the shrunk scenario's size in steps. A mutant counts
# as caught when a failure is detected within the budget and its shrunk scenario fails with the mutant and passes
# without it. Last line: `caught K of N`; exit 0 only when every mutant is caught.
#
# The budget counts cases and seeds, never seconds, and RapidCheck's seed is fixed (--rc_seed): the same build and
# budget give the same verdict on an idle machine and on a loaded one; only the seconds printed beside differ.
#
#   tests/mutants/run.sh [--cases=C] [--seeds=S] [--rc_seed=R] [--shrinker=ddmin|rapidcheck] [--timeout=SECONDS]
#                        [mutant...]
#
# --timeout only guards against a hang (a mutant that deadlocks a run): a mutant still running after it is
# `timeout`, not caught. A shrunk counterexample of each caught mutant is kept in $OUT (default
# /tmp/snapsim-mutants/<mutant>.scenario); replay it with
# SNAPSIM_MUTANT=<mutant> bazel-out/k8-fastbuildmutants/bin/scenarios/snapsim replay FILE.
set -uo pipefail
cd "$(dirname "$0")/../.."

# Cases per property process (each of the two), and sweep seeds after the properties missed. With RapidCheck seed 1
# every mutant is caught by case 182 (tests/mutants/README.md): 600 leaves a margin of 3.3 times or more.
cases=600
seeds=1000
# RapidCheck's seed: a fixed case stream per property, so that a verdict is reproducible.
rc_seed=1
# ddmin: RapidCheck reports the first failing case unshrunk (noshrink) and snapsim's shrinker minimizes it in seconds;
# rapidcheck: RapidCheck's own shrinking (minutes on long programs).
shrinker=ddmin
timeout_seconds=1800
mutants=()
usage="usage: tests/mutants/run.sh [--cases=C] [--seeds=S] [--rc_seed=R] [--shrinker=ddmin|rapidcheck] [--timeout=S] [mutant...]"
for argument in "$@"; do
  case "$argument" in
    --cases=*) cases="${argument#--cases=}" ;;
    --seeds=*) seeds="${argument#--seeds=}" ;;
    --rc_seed=*) rc_seed="${argument#--rc_seed=}" ;;
    --shrinker=*) shrinker="${argument#--shrinker=}" ;;
    --timeout=*) timeout_seconds="${argument#--timeout=}" ;;
    -*) echo "$usage" >&2; exit 2 ;;
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
echo "budget: $cases property cases per process (two processes), then $seeds swarm-recoverable sweep seeds;" \
  "RapidCheck seed $rc_seed"

caught=0
total=0
printf '%-30s %-7s %-44s %-22s %8s %8s %6s\n' mutant verdict "caught by" "at (of budget), margin" detected total \
  steps
for mutant in "${mutants[@]}"; do
  total=$((total + 1))
  rm -rf "$OUT/every" "$OUT/others" "$OUT/$mutant.scenario" "$OUT/sweep-$mutant"
  invariant=""
  timed_out=""
  mkdir -p "$OUT/every" "$OUT/others"
  start=$(date +%s.%N)
  # Two processes (one per core): every invariant at once, and the headline property (then the others, in file
  # order); each draws cases until a property is falsified (it has shrunk then) or its case budget ends. The first
  # to catch the mutant stops the other.
  run_properties() {
    SNAPSIM_MUTANT="$mutant" SNAPSIM_PROPERTY_OUT="$OUT/$2" SNAPSIM_PROPERTY_MAX_CASES="$cases" \
      SNAPSIM_PROPERTY_SHRINK="$shrinker" RC_PARAMS="seed=$rc_seed max_success=1000000 max_size=60 $rc_shrink" \
      exec timeout "$timeout_seconds" "$property" --gtest_filter="$1" --gtest_fail_fast >"$OUT/$mutant.$2.log" 2>&1
  }
  run_properties "Property.EveryInvariantHolds" every &
  every=$!
  run_properties "Property.*:-Property.EveryInvariantHolds" others &
  others=$!
  # The first process to end either caught the mutant (then the other stops) or spent its budget without a failure
  # (then the other may still be drawing cases or shrinking one: wait for it).
  wait -n "$every" "$others"
  if grep -q "Falsifiable" "$OUT/$mutant.every.log" "$OUT/$mutant.others.log" 2>/dev/null; then
    kill "$every" "$others" 2>/dev/null
  fi
  wait "$every" "$others" 2>/dev/null
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  [ "$(echo "$seconds >= $timeout_seconds" | bc)" = 1 ] && timed_out=yes  # `timeout` stopped a process
  detected=""
  at=""
  verdict=missed
  by=""
  steps=""
  log=""
  for tag in every others; do
    if [ -z "$log" ] && grep -q "Falsifiable" "$OUT/$mutant.$tag.log"; then log="$OUT/$mutant.$tag.log"; found="$tag"; fi
  done
  if [ -n "$log" ]; then
    verdict=caught
    if [ -f "$OUT/$found/first-failure" ]; then
      read -r failed_at failed_cases < "$OUT/$found/first-failure"
      detected=$(echo "$failed_at - $start" | bc)
      at="case $failed_cases of $cases, $(awk "BEGIN { printf \"%.1fx\", $cases / $failed_cases }")"
    fi
    test_name=$(grep -m1 -o '\[  FAILED  \] Property\.[A-Za-z]*' "$log" | sed 's/.*Property\.//')
    invariant=$(grep -m1 -o 'invariant [0-9]* ([^)]*)' "$log" | head -1)
    by="$test_name: ${invariant:-?}"
    file=$(ls -t "$OUT/$found"/property-*.scenario 2>/dev/null | head -1)
    if [ -n "$file" ]; then
      mv "$file" "$OUT/$mutant.scenario"
      steps=$(grep -cE '^[0-9]+ ' "$OUT/$mutant.scenario")
    fi
  elif [ "$seeds" -gt 0 ] 2>/dev/null && [ -z "$timed_out" ]; then
    # The swarm sweep, in chunks of 100 seeds (two jobs), until the first failing seed or the budget's end.
    sweep_start=$(date +%s.%N)
    first=1
    seed=""
    while [ "$first" -le "$seeds" ] && [ -z "$seed" ]; do
      count=$(( seeds - first + 1 < 100 ? seeds - first + 1 : 100 ))
      SNAPSIM_MUTANT="$mutant" timeout "$timeout_seconds" "$snapsim" sweep --first="$first" --seeds="$count" \
        --jobs=2 --generator=swarm-recoverable --out="$OUT/sweep-$mutant" >>"$OUT/$mutant.sweep.log" 2>&1
      [ $? -eq 124 ] && timed_out=yes && break
      seed=$(grep -o '^seed [0-9]*: FAILED' "$OUT/$mutant.sweep.log" | cut -d' ' -f2 | tr -d : | sort -n | head -1)
      first=$((first + count))
    done
    if [ -n "$seed" ]; then
      detected=$(echo "$seconds + $(date +%s.%N) - $sweep_start" | bc)
      at="seed $seed of $seeds, $(awk "BEGIN { printf \"%.1fx\", $seeds / $seed }")"
      SNAPSIM_MUTANT="$mutant" "$snapsim" shrink --seed="$seed" --generator=swarm-recoverable \
        --out="$OUT/$mutant.scenario" --max_runs=400 >"$OUT/$mutant.shrink.log" 2>&1
      verdict=caught
      by="sweep seed $seed: $(grep -m1 -o "^seed $seed: FAILED.*" "$OUT/$mutant.sweep.log" |
        grep -o 'invariant [0-9]* ([^)]*)' | head -1)"
      steps=$(grep -cE '^[0-9]+ ' "$OUT/$mutant.scenario" 2>/dev/null)
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
  if [ "$verdict" != caught ] && [ -n "$timed_out" ]; then
    verdict=timeout
    by="still running after ${timeout_seconds} s (a hang?)"
  fi
  [ "$verdict" = caught ] && caught=$((caught + 1))
  printf '%-30s %-7s %-44s %-22s %8s %8.1f %6s\n' "$mutant" "$verdict" "${by:0:44}" "${at:--}" \
    "$([ -n "$detected" ] && printf '%.1f' "$detected" || echo -)" "$seconds" "${steps:--}"
done
echo "shrunk scenarios and logs: $OUT"
echo "caught $caught of $total"
[ "$caught" -eq "$total" ]
