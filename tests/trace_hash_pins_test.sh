#!/usr/bin/env bash
# Pins the trace hashes of a fixed list of swarm seeds (issue #15): a change meant to be a pure speed-up keeps every
# one; a change that alters behaviour (fewer opens, fewer file operations, another trace) says so in its commit and
# re-pins after the invariants pass:
#   bazel build //scenarios:snapsim && tests/trace_hash_pins_test.sh bazel-bin/scenarios/snapsim --update
# The hash covers every event and the checksum of every stored object (scenarios/README.md, determinism).
set -uo pipefail
snapsim="$1"
update="${2:-}"
here="$(dirname "$0")"
pins="$here/trace_hash_pins.txt"
[ -f "$pins" ] || pins="tests/trace_hash_pins.txt"
work="${TEST_TMPDIR:-/tmp}/trace-hash-pins"
mkdir -p "$work"
seeds="1 2 3 5 8 13 21 34 55 89 144 233"
hash_of() {
  "$snapsim" print --seed="$1" >"$work/seed_$1.scenario" || return 1
  "$snapsim" replay "$work/seed_$1.scenario" --quiet --print_hash | grep -o 'trace_hash=[0-9a-f]*' | cut -d= -f2
}
if [ "$update" = "--update" ]; then
  {
    echo "# swarm seed -> trace hash (tests/trace_hash_pins_test.sh; re-pin only for a change meant to alter runs)"
    for seed in $seeds; do echo "$seed $(hash_of "$seed")"; done
  } >"$pins"
  cat "$pins"
  exit 0
fi
failed=0
while read -r seed pinned; do
  case "$seed" in '#'*|'') continue ;; esac
  actual="$(hash_of "$seed")"
  if [ "$actual" != "$pinned" ]; then
    echo "swarm seed $seed: trace hash $actual, pinned $pinned"
    echo "  reproduce: bazel run //:snapsim -- print --seed=$seed >/tmp/s.scenario && bazel run //:snapsim -- replay /tmp/s.scenario --print_hash"
    failed=1
  else
    echo "swarm seed $seed: $actual as pinned"
  fi
done <"$pins"
if [ "$failed" -ne 0 ]; then
  echo "a trace hash moved: if the change is meant to alter runs, say so in its commit and re-pin with"
  echo "  bazel build //scenarios:snapsim && tests/trace_hash_pins_test.sh bazel-bin/scenarios/snapsim --update"
fi
exit $failed
