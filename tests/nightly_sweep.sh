#!/usr/bin/env bash
# One shard of the nightly sweep (//tests:nightly_sweep, README "Sweeps beyond one machine"): seeds
# SNAPSIM_NIGHTLY_FIRST.. of each generator (SNAPSIM_NIGHTLY_SEEDS of each, default 100000), cut into
# TEST_TOTAL_SHARDS contiguous ranges, of which this shard runs range TEST_SHARD_INDEX. Each generator's records go to
# TEST_UNDECLARED_OUTPUTS_DIR/<generator>-shard-<index>.jsonl (`snapsim report` merges every shard's) and each failing
# seed's scenario to TEST_UNDECLARED_OUTPUTS_DIR/failures-<generator>/seed-<seed>.scenario. The shard fails when a
# seed fails, and its log ends with one reproduce command per failing seed.
#
# Usage: tests/nightly_sweep.sh SNAPSIM   (outside Bazel: the same variables, each with a default)
set -uo pipefail
snapsim="$1"
seeds="${SNAPSIM_NIGHTLY_SEEDS:-100000}"
first="${SNAPSIM_NIGHTLY_FIRST:-1}"
generators="${SNAPSIM_NIGHTLY_GENERATORS:-swarm swarm-recoverable lifecycle}"
shard="${TEST_SHARD_INDEX:-0}"
shards="${TEST_TOTAL_SHARDS:-1}"
outputs="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-/tmp}/snapsim-nightly}"
# Tells Bazel this test reads its shard index: without it Bazel would run every seed in every shard.
if [ -n "${TEST_SHARD_STATUS_FILE:-}" ]; then touch "$TEST_SHARD_STATUS_FILE"; fi

for value in "$seeds" "$first" "$shard" "$shards"; do
  case "$value" in
    '' | *[!0-9]*) echo "nightly_sweep: not a number: '$value' (SNAPSIM_NIGHTLY_*, TEST_*SHARD*)"; exit 2 ;;
  esac
done
[ "$shard" -lt "$shards" ] || { echo "nightly_sweep: shard $shard of $shards"; exit 2; }
mkdir -p "$outputs" || exit 2

# Shard k of K runs seeds [first + k*N/K, first + (k+1)*N/K): contiguous, disjoint, together every seed once.
begin=$((first + shard * seeds / shards))
end=$((first + (shard + 1) * seeds / shards))
count=$((end - begin))
echo "nightly sweep shard $((shard + 1)) of $shards: seeds $begin..$((end - 1)) of each of: $generators"

status=0
failed_generators=()
for generator in $generators; do
  [ "$count" -gt 0 ] || continue
  log="$outputs/$generator-shard-$shard.txt"
  # --jobs=1 --pin=no: Bazel runs the shards side by side, one per core; pinning would put them all on CPU 0.
  "$snapsim" sweep --generator="$generator" --first="$begin" --seeds="$count" --jobs=1 --pin=no \
    --out="$outputs/failures-$generator" --json_out="$outputs/$generator-shard-$shard.jsonl" > "$log" 2>&1
  code=$?
  tail -n 3 "$log"
  case "$code" in
    0) ;;
    1) status=1; failed_generators+=("$generator") ;;
    *) echo "nightly_sweep: the $generator sweep exited $code:"; tail -n 20 "$log"; exit "$code" ;;
  esac
done

if [ "$status" -ne 0 ]; then
  # The sweep's own closing list: each failing seed with the one command that reproduces it.
  for generator in "${failed_generators[@]}"; do
    echo "FAILED: $generator, shard $((shard + 1)) of $shards:"
    sed -n '/^failures (/,$p' "$outputs/$generator-shard-$shard.txt"
    grep "goal unreached" "$outputs/$generator-shard-$shard.txt"
  done
  echo "the failing seeds' scenarios are in this shard's test.outputs (failures-<generator>/seed-<seed>.scenario)"
fi
exit "$status"
