#!/usr/bin/env bash
# The sharded sweep's shards together run every seed exactly once (a sweep whose shards silently skip seeds passes
# while testing nothing). Runs the sweep binary as Bazel's sharding would, 4 shards over 12 seeds.
set -uo pipefail
sweep="$1"
seeds=12
shards=4
ran=$(for ((shard = 0; shard < shards; ++shard)); do
  SNAPSIM_SWEEP_SEEDS=$seeds GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$shard "$sweep" | grep -E '^seed [0-9]+ ran$'
done | awk '{print $2}' | sort -n)
expected=$(seq 1 $seeds)
if [ "$ran" != "$expected" ]; then
  echo "FAILED: the shards ran seeds [$(echo $ran)], expected each of 1..$seeds once"
  exit 1
fi
per_shard=$(for ((shard = 0; shard < shards; ++shard)); do
  SNAPSIM_SWEEP_SEEDS=$seeds GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$shard "$sweep" | grep -cE '^seed [0-9]+ ran$'
done | tr '\n' ' ')
echo "every seed ran once; seeds per shard: $per_shard"
for count in $per_shard; do
  [ "$count" -gt 0 ] || { echo "FAILED: a shard ran no seed"; exit 1; }
done
