#!/usr/bin/env bash
# The nightly sweep (README "Sweeps beyond one machine"): replays the corpus of earlier nightlies' failures first, runs
# //tests:nightly_sweep (its shards wherever Bazel runs tests: this machine, or remote execution), and merges every
# shard's records with `snapsim report` into one report. Every failing seed's scenario goes into the corpus, so the
# next nightly replays it whatever the generators have become by then.
#
# Usage: tools/nightly_sweep.sh [--seeds=N] [--corpus=DIR] [--report=DIR] [BAZEL FLAGS...]
#   --seeds=N     seeds of each generator (default 100000; SNAPSIM_NIGHTLY_SEEDS of //tests:nightly_sweep)
#   --corpus=DIR  failing scenarios kept across nightlies (default $SNAPSIM_CORPUS, else ~/.cache/snapsim/corpus)
#   --report=DIR  where the merged report goes (default /tmp/snapsim-nightly): report.txt, report.json, shards/
#   BAZEL FLAGS   passed to `bazel build` and `bazel test`, e.g. --remote_executor=grpc://... --jobs=200;
#                 -c opt unless a compilation mode (-c, --compilation_mode) is among them
#
#   tools/nightly_sweep.sh --merge=TESTLOGS --snapsim=BIN [--corpus=DIR] [--report=DIR]
#                 merges the shards' outputs under TESTLOGS (a bazel-testlogs/tests/nightly_sweep directory, or a copy
#                 of one) without building or running anything but the corpus replay (the smoke test's entry point)
#
# Exit status: 0 when every seed and every corpus scenario passed and every reachability goal was reached, 1 when
# one did not, 2 when Bazel could not build or run the sweep.
set -uo pipefail

seeds=100000
corpus="${SNAPSIM_CORPUS:-${HOME:-/tmp}/.cache/snapsim/corpus}"
report_dir=/tmp/snapsim-nightly
merge=""
snapsim=""
bazel_flags=()
for argument in "$@"; do
  case "$argument" in
    --seeds=*) seeds="${argument#--seeds=}" ;;
    --corpus=*) corpus="${argument#--corpus=}" ;;
    --report=*) report_dir="${argument#--report=}" ;;
    --merge=*) merge="${argument#--merge=}" ;;
    --snapsim=*) snapsim="${argument#--snapsim=}" ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) bazel_flags+=("$argument") ;;
  esac
done
case "$seeds" in '' | *[!0-9]*) echo "nightly_sweep: --seeds must be a number, not '$seeds'" >&2; exit 2 ;; esac
# A nightly is a throughput job: optimised unless the caller chose a compilation mode. Measured on the CI machine
# kind (lifecycle seeds 1-20, unpinned as the shards run): 9.0 CPU s at -c opt, 17.0 s in the default fastbuild.
case " ${bazel_flags[*]} " in
  *" -c "* | *" --compilation_mode"*) ;;
  *) bazel_flags=(-c opt "${bazel_flags[@]}") ;;
esac

# Without --merge, this script runs Bazel (build, then the shards); with it, it only merges what is there.
run_bazel=true
[ -z "$merge" ] || run_bazel=false
workspace="$(cd "$(dirname "$0")/.." && pwd)"
cd "$workspace" || exit 2
if $run_bazel; then
  tools/setup.sh || exit 2
fi
command -v unzip > /dev/null || { echo "nightly_sweep: unzip is missing (tools/setup.sh installs it)" >&2; exit 2; }
mkdir -p "$corpus" "$report_dir" || exit 2
rm -rf "$report_dir/shards" "$report_dir/corpus.jsonl"
started=$SECONDS

if $run_bazel; then
  bazel build "${bazel_flags[@]}" //scenarios:snapsim || exit 2
  snapsim="$workspace/bazel-bin/scenarios/snapsim"
  merge="$workspace/bazel-testlogs/tests/nightly_sweep"
fi
[ -x "$snapsim" ] || { echo "nightly_sweep: no snapsim binary at '$snapsim'" >&2; exit 2; }

# 1. The corpus first: failures of earlier nightlies, as scenario files, so a changed generator cannot lose them.
records=()
shopt -s nullglob
corpus_files=("$corpus"/*.scenario)
shopt -u nullglob
if [ ${#corpus_files[@]} -gt 0 ]; then
  echo "nightly_sweep: replaying the corpus, ${#corpus_files[@]} scenario(s) in $corpus"
  "$snapsim" replay --quiet --json_out="$report_dir/corpus.jsonl" "${corpus_files[@]}" > "$report_dir/corpus.txt"
  code=$?
  # The verdicts that are not a pass (the notes of passing scenarios stay in corpus.txt).
  grep -E ": (FAIL|CRASH|BAD INPUT)" "$report_dir/corpus.txt"
  [ "$code" -le 1 ] || { echo "nightly_sweep: the corpus replay exited $code" >&2; exit 2; }
  records+=("$report_dir/corpus.jsonl")
else
  echo "nightly_sweep: the corpus $corpus is empty"
fi

# 2. The shards. A failing shard is a finding, not an error: the merged report below says what failed.
if $run_bazel; then
  bazel test "${bazel_flags[@]}" --test_env=SNAPSIM_NIGHTLY_SEEDS="$seeds" //tests:nightly_sweep
  code=$?
  # 3: some test failed; 4: no test ran. Anything else but 0 is Bazel's own failure.
  case "$code" in 0 | 3) ;; *) echo "nightly_sweep: bazel test exited $code" >&2; exit 2 ;; esac
  echo "nightly_sweep: the shards took $((SECONDS - started)) s (wall, from the corpus replay on)"
fi

# 3. Each shard's outputs, zipped by Bazel (outputs.zip) or not, into report/shards/<shard>/.
shard_count=0
for outputs in "$merge"/shard_*/test.outputs "$merge"/test.outputs; do
  [ -d "$outputs" ] || continue
  shard_name="$(basename "$(dirname "$outputs")")"
  destination="$report_dir/shards/$shard_name"
  mkdir -p "$destination" || exit 2
  if [ -f "$outputs/outputs.zip" ]; then
    unzip -q -o "$outputs/outputs.zip" -d "$destination" || exit 2
  else
    cp -R "$outputs/." "$destination/" || exit 2
  fi
  shard_count=$((shard_count + 1))
done
[ "$shard_count" -gt 0 ] || { echo "nightly_sweep: no shard outputs under $merge" >&2; exit 2; }
while IFS= read -r file; do records+=("$file"); done < <(find "$report_dir/shards" -name '*.jsonl' | sort)
echo "nightly_sweep: merging ${#records[@]} record file(s) of $shard_count shard(s)"

# 4. One report over everything, text and JSON; each failing seed's scenario joins the corpus.
"$snapsim" report "${records[@]}" --export_failures="$corpus" > "$report_dir/report.txt"
status=$?
"$snapsim" report "${records[@]}" --json > "$report_dir/report.json"
[ "$status" -le 1 ] || { cat "$report_dir/report.txt"; echo "nightly_sweep: report exited $status" >&2; exit 2; }
cat "$report_dir/report.txt"
echo "nightly_sweep: $((SECONDS - started)) s in all; report in $report_dir/report.txt and report.json," \
  "failing scenarios in $corpus"
exit "$status"
