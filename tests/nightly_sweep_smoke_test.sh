#!/usr/bin/env bash
# The nightly sweep end to end, small: the shard script as Bazel runs it (2 shards, a few seeds of each generator,
# laid out as bazel-testlogs lays out a sharded test's outputs), then tools/nightly_sweep.sh merging them into one
# report; a shard whose seeds crash fails with the reproduce command of each, its scenarios join the corpus, and the
# next merge replays that corpus first.
set -uo pipefail
snapsim="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shard_script="$2"
nightly="$3"
scratch="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAILED: $*"; exit 1; }

# Runs shard $1 of $2 into testlogs directory $3, the other arguments as environment (VAR=value ...).
run_shard() {
  local shard="$1" shards="$2" testlogs="$3"
  shift 3
  local outputs="$testlogs/shard_$((shard + 1))_of_${shards}/test.outputs"
  mkdir -p "$outputs"
  env "$@" TEST_SHARD_INDEX="$shard" TEST_TOTAL_SHARDS="$shards" TEST_UNDECLARED_OUTPUTS_DIR="$outputs" \
    TEST_SHARD_STATUS_FILE="$scratch/status-$shard" "$shard_script" "$snapsim" \
    > "$testlogs/shard_$((shard + 1))_of_${shards}.log" 2>&1
}

# Seeds 1..5 of each generator over 2 shards: shard 1 runs 1..2, shard 2 runs 3..5, and both say they shard.
passing="$scratch/passing/nightly_sweep"
for shard in 0 1; do
  run_shard "$shard" 2 "$passing" SNAPSIM_NIGHTLY_SEEDS=5 || fail "shard $shard failed: $(cat "$passing"/shard_$((shard + 1))_of_2.log)"
  [ -f "$scratch/status-$shard" ] || fail "shard $shard did not touch TEST_SHARD_STATUS_FILE"
done
grep -q "seeds 1..2 of each of: swarm swarm-recoverable lifecycle" "$passing/shard_1_of_2.log" || fail "shard 1's range"
grep -q "seeds 3..5 of each" "$passing/shard_2_of_2.log" || fail "shard 2's range: $(head -1 "$passing/shard_2_of_2.log")"
for generator in swarm swarm-recoverable lifecycle; do
  seeds=$(cat "$passing"/shard_*/test.outputs/"$generator"-shard-*.jsonl | grep -o '"type":"seed"' | wc -l)
  [ "$seeds" -eq 5 ] || fail "$generator: the shards' records hold $seeds seeds, not 5"
done

corpus="$scratch/corpus"
"$nightly" --merge="$passing" --snapsim="$snapsim" --corpus="$corpus" --report="$scratch/report" \
  > "$scratch/merge.txt" 2>&1; code=$?
[ "$code" -eq 0 ] || fail "merging passing shards exits $code: $(tail -20 "$scratch/merge.txt")"
grep -q "merging 6 record file(s) of 2 shard(s)" "$scratch/merge.txt" || fail "not every shard merged: $(cat "$scratch/merge.txt")"
for generator in swarm swarm-recoverable lifecycle; do
  grep -q "^$generator: 5 seeds, 0 failed" "$scratch/report/report.txt" || fail "the report lacks $generator's 5 seeds"
done
grep -q '"generators"' "$scratch/report/report.json" || fail "no JSON report"
grep -q "the corpus .* is empty" "$scratch/merge.txt" || fail "an empty corpus is not said"

# A shard whose seeds crash (the test hook aborts the process at the first writes step) fails, naming each failing
# seed with the one command that reproduces it; the merged report groups them and exports them to the corpus.
failing="$scratch/failing/nightly_sweep"
run_shard 0 2 "$failing" SNAPSIM_NIGHTLY_SEEDS=4 SNAPSIM_NIGHTLY_GENERATORS=swarm || fail "shard 0 of the failing run"
run_shard 1 2 "$failing" SNAPSIM_NIGHTLY_SEEDS=4 SNAPSIM_NIGHTLY_GENERATORS=swarm SNAPSIM_TEST_ABORT_AT_VERB=writes
code=$?
log="$failing/shard_2_of_2.log"
[ "$code" -eq 1 ] || fail "a shard with failing seeds exits $code: $(cat "$log")"
grep -q "^FAILED: swarm, shard 2 of 2" "$log" || fail "the failing shard does not say so: $(cat "$log")"
for seed in 3 4; do
  grep -q "reproduce: bazel run //:snapsim -- sweep --generator=swarm --first=$seed --seeds=1" "$log" ||
    fail "no reproduce command for seed $seed: $(cat "$log")"
  [ -s "$failing/shard_2_of_2/test.outputs/failures-swarm/seed-$seed.scenario" ] || fail "seed $seed's scenario not kept"
done
"$nightly" --merge="$failing" --snapsim="$snapsim" --corpus="$corpus" --report="$scratch/report" \
  > "$scratch/merge-failing.txt" 2>&1; code=$?
[ "$code" -eq 1 ] || fail "merging a failing shard exits $code: $(tail -20 "$scratch/merge-failing.txt")"
grep -q "^swarm: 4 seeds, 2 failed" "$scratch/report/report.txt" || fail "the report: $(cat "$scratch/report/report.txt")"
grep -q "2 failing scenario(s) written to $corpus" "$scratch/merge-failing.txt" || fail "the failures were not exported"
[ "$(ls "$corpus" | grep -c '^swarm-seed-[34]-[0-9a-f]*\.scenario$')" -eq 2 ] || fail "the corpus: $(ls "$corpus")"

# The next nightly replays the corpus first (the crash hook is gone now: the scenarios pass) and merges its records.
"$nightly" --merge="$passing" --snapsim="$snapsim" --corpus="$corpus" --report="$scratch/report" \
  > "$scratch/merge-again.txt" 2>&1; code=$?
[ "$code" -eq 0 ] || fail "the next nightly exits $code: $(tail -20 "$scratch/merge-again.txt")"
grep -q "replaying the corpus, 2 scenario(s)" "$scratch/merge-again.txt" || fail "the corpus was not replayed first"
grep -q "merging 7 record file(s)" "$scratch/merge-again.txt" || fail "the corpus replay's records were not merged"
grep -q "^replayed scenarios: 2 scenarios, 0 failed" "$scratch/report/report.txt" ||
  fail "the report does not count the corpus: $(head -30 "$scratch/report/report.txt")"
echo "nightly sweep smoke: all checks passed"
