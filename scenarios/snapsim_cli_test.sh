#!/usr/bin/env bash
# `snapsim` as a user runs it: verdicts and exit codes (0 pass, 1 violation, 2 bad input), errors naming
# file:line:column, --help, --until, and a trace file.
set -uo pipefail
snapsim="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
snapsim_bin="$snapsim"
scratch="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAILED: $*"; exit 1; }

# Output goes to a file first: `grep -q` exits at its first match, and under pipefail the writer's SIGPIPE would
# fail the pipeline once the output outgrows the pipe (it did when the vocabulary grew).
"$snapsim" --help > "$scratch/help.txt" || fail "--help exits non-zero"
grep -q "replay FILE" "$scratch/help.txt" || fail "--help does not describe replay"
grep -q -- "--version" "$scratch/help.txt" || fail "--help does not list --version"

# --version: the version and the commit the build comes from (tools/workspace_status.sh), one line, exit 0.
"$snapsim" --version > "$scratch/version.txt" || fail "--version exits non-zero"
grep -qE '^snapsim [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{40}(-dirty)?|unknown)\)$' "$scratch/version.txt" ||
  fail "--version prints: $(cat "$scratch/version.txt")"
[ "$(wc -l < "$scratch/version.txt")" -eq 1 ] || fail "--version prints more than one line"
"$snapsim" --version extra > /dev/null 2> "$scratch/version.err" && fail "--version with an argument exits 0"
grep -q "takes no arguments" "$scratch/version.err" || fail "--version extra: $(cat "$scratch/version.err")"
"$snapsim" steps > "$scratch/steps.txt" || fail "steps exits non-zero"
grep -q "restore-check" "$scratch/steps.txt" || fail "steps does not list the vocabulary"
grep -q "corrupt" "$scratch/steps.txt" || fail "steps does not list the corrupt step"

"$snapsim" replay --quiet scenarios/library/flink/lossy_notifications.scenario > "$scratch/pass.txt"; code=$?
[ "$code" -eq 0 ] || fail "a library scenario exits $code: $(cat "$scratch/pass.txt")"
grep -q "PASS" "$scratch/pass.txt" || fail "no PASS line"

printf '# bad\nparallelism 2\n1 checkpoint expect=sometimes\n' > "$scratch/bad.scenario"
"$snapsim" replay "$scratch/bad.scenario" > "$scratch/bad.txt"; code=$?
[ "$code" -eq 2 ] || fail "a malformed scenario exits $code, not 2"
grep -q "bad.scenario:3:21: checkpoint: expect must be one of" "$scratch/bad.txt" || fail "no file:line:column: $(cat "$scratch/bad.txt")"

head -c 3000 /dev/urandom > "$scratch/binary.scenario"
"$snapsim" replay "$scratch/binary.scenario" > /dev/null; code=$?
[ "$code" -eq 2 ] || fail "a binary file exits $code, not 2"

printf '# violation\n# expects a checkpoint to fail\nparallelism 1\n1 writes count=5 keys=5\n2 checkpoint expect=failed\n' > "$scratch/violation.scenario"
"$snapsim" replay "$scratch/violation.scenario" > "$scratch/violation.txt"; code=$?
[ "$code" -eq 1 ] || fail "a violated expectation exits $code, not 1"
grep -q "reproduce: bazel run //:snapsim -- replay" "$scratch/violation.txt" || fail "no repro command"

"$snapsim" replay --quiet --verbose scenarios/library/flink/lossy_notifications.scenario > "$scratch/verbose.txt" || fail "--verbose failed"
grep -qE '^[0-9]+us object-store (create|finish) checkpoints/' "$scratch/verbose.txt" || fail "--verbose printed no storage events"
grep -qE '^[0-9]+us job deliver notify-complete ' "$scratch/verbose.txt" || fail "--verbose printed no message deliveries"

"$snapsim" replay --until=3 scenarios/library/flink/claim_native_savepoint.scenario > "$scratch/until.txt"; code=$?
[ "$code" -eq 0 ] || fail "--until exits $code"
grep -q -- "-- state after step 3 (end-of-run checks not run) --" "$scratch/until.txt" || fail "--until printed no state"
grep -q "savepoints/savepoint-job-1-" "$scratch/until.txt" || fail "--until listed no storage"
if grep -q "step 4 " "$scratch/until.txt"; then fail "--until=3 ran step 4"; fi

"$snapsim" replay --quiet --trace_out="$scratch/a.json" scenarios/library/flink/hard_kill_mid_upload.scenario > /dev/null || fail "traced replay failed"
"$snapsim" replay --quiet --trace_out="$scratch/b.json" scenarios/library/flink/hard_kill_mid_upload.scenario > /dev/null || fail "traced replay failed"
cmp -s "$scratch/a.json" "$scratch/b.json" || fail "two replays wrote different trace JSON"
grep -q '"ph":"X"' "$scratch/a.json" || fail "the trace has no duration spans"

"$snapsim" replay --fs=nfs scenarios/library/flink/lossy_notifications.scenario > /dev/null 2>&1; code=$?
[ "$code" -eq 2 ] || fail "an unknown --fs exits $code"
"$snapsim" replay /nonexistent.scenario > "$scratch/missing.txt"; code=$?
[ "$code" -eq 2 ] || fail "a missing file exits $code"
grep -q "/nonexistent.scenario" "$scratch/missing.txt" || fail "the missing file is not named"
"$snapsim" sweep --seeds=2 --first=3 --out="$scratch/sweep" > "$scratch/sweep.txt"; code=$?
[ "$code" -eq 0 ] || fail "sweep of seeds 3-4 exits $code: $(tail -5 "$scratch/sweep.txt")"
grep -qE "^seed 3: ok  parallelism=[0-9]+ (full|incremental) .*; Fault mix: " "$scratch/sweep.txt" ||
  fail "the sweep printed no configuration and fault mix for seed 3: $(grep "^seed 3" "$scratch/sweep.txt")"
grep -q "^counters that stayed zero: " "$scratch/sweep.txt" || fail "the sweep printed no coverage"
grep -q "^2 seeds, 0 failed (" "$scratch/sweep.txt" || fail "no sweep summary line"
# --jobs: the same seeds in worker processes give the same lines (in any order) and the same summary counts.
"$snapsim" sweep --seeds=4 --first=3 --jobs=2 --out="$scratch/sweep-jobs" > "$scratch/jobs.txt"; code=$?
[ "$code" -eq 0 ] || fail "sweep --jobs=2 exits $code: $(tail -5 "$scratch/jobs.txt")"
"$snapsim" sweep --seeds=4 --first=3 --out="$scratch/sweep-one" > "$scratch/one.txt" || fail "sweep of seeds 3-6 failed"
diff <(grep "^seed " "$scratch/jobs.txt" | sort) <(grep "^seed " "$scratch/one.txt" | sort) > /dev/null ||
  fail "--jobs=2 reports other seed lines than one process"
grep -q "^4 seeds, 0 failed (.*, 2 jobs)$" "$scratch/jobs.txt" || fail "no --jobs summary: $(tail -1 "$scratch/jobs.txt")"
grep -q "^counters that stayed zero: " "$scratch/jobs.txt" || fail "--jobs printed no coverage"
# A seed whose process crashes (a failed assertion inside RocksDB aborts it) is a failure with its reproduce command,
# and the sweep goes on with the seeds after it (swarm seed 3450 once killed a worker and the rest of its seeds). The
# test hook SNAPSIM_TEST_ABORT_AT_VERB aborts the process when a step of that verb starts: every swarm seed writes.
for jobs in 1 2; do
  SNAPSIM_TEST_ABORT_AT_VERB=writes "$snapsim" sweep --seeds=3 --first=3 --jobs=$jobs --out="$scratch/sweep-crash" \
    > "$scratch/crash.txt" 2>&1; code=$?
  [ "$code" -eq 1 ] || fail "a sweep with crashing seeds exits $code (jobs=$jobs)"
  for seed in 3 4 5; do
    grep -q "^seed $seed: FAILED .*the process crashed, killed by signal 6" "$scratch/crash.txt" ||
      fail "crashed seed $seed is not reported (jobs=$jobs): $(tail -5 "$scratch/crash.txt")"
    grep -q "reproduce: bazel run //:snapsim -- replay .*/sweep-crash/seed-$seed.scenario" "$scratch/crash.txt" ||
      fail "no reproduce command for crashed seed $seed (jobs=$jobs)"
    [ -s "$scratch/sweep-crash/seed-$seed.scenario" ] || fail "seed $seed's scenario was not written (jobs=$jobs)"
  done
  grep -q "^3 seeds, 3 failed (" "$scratch/crash.txt" || fail "wrong summary after crashes (jobs=$jobs)"
done
# `shrink` runs each candidate in a child process: a crash shrinks like any failure, to the step that crashes.
cat > "$scratch/crashing.scenario" <<'EOF2'
parallelism 2
1 writes count=40 keys=10
2 checkpoint
3 flush
4 compact
5 checkpoint
6 writes count=10 keys=10
EOF2
SNAPSIM_TEST_ABORT_AT_VERB=compact "$snapsim" shrink "$scratch/crashing.scenario" --out="$scratch/crash-shrunk.scenario" \
  > "$scratch/shrink-crash.txt" 2>&1; code=$?
[ "$code" -eq 1 ] || fail "shrinking a crash exits $code, not 1: $(tail -3 "$scratch/shrink-crash.txt")"
grep -q "from 6 to 1 steps" "$scratch/crash-shrunk.scenario" ||
  fail "a crash did not shrink to its one step: $(grep -v '^#' "$scratch/crash-shrunk.scenario")"
grep -q "process crash) violated at step 4: the process crashed, killed by signal 6" "$scratch/crash-shrunk.scenario" ||
  fail "the shrunk crash does not say what happened"
grep -q "^4 compact" "$scratch/crash-shrunk.scenario" || fail "the shrunk crash lost its compact step"
"$snapsim" sweep --seeds=1 --generator=nope > /dev/null 2>&1; code=$?
[ "$code" -eq 2 ] || fail "an unknown generator exits $code"

# shrink: a failing scenario padded with irrelevant steps shrinks to the one step that fails, same invariant, and
# the written scenario replays to that failure; a passing scenario has nothing to shrink (exit 0).
printf '# padded\nparallelism 3\nlocal_recovery on\n1 writes count=30 keys=20\n2 flush\n3 checkpoint\n4 writes count=9 keys=4\n5 compact\n6 savepoint format=canonical\n7 checkpoint expect=failed\n8 writes count=3 keys=3\n' > "$scratch/padded.scenario"
"$snapsim" replay --quiet "$scratch/padded.scenario" > "$scratch/padded.txt"; code=$?
[ "$code" -eq 1 ] || fail "the padded scenario exits $code, not 1"
"$snapsim" shrink "$scratch/padded.scenario" --out="$scratch/shrunk.scenario" > "$scratch/shrink.txt"; code=$?
[ "$code" -eq 1 ] || fail "shrink exits $code, not 1: $(tail -5 "$scratch/shrink.txt")"
grep -q "^before (8 steps):" "$scratch/shrink.txt" || fail "shrink printed no steps before"
grep -q "^after (1 steps" "$scratch/shrink.txt" || fail "shrink did not reach one step: $(grep '^after' "$scratch/shrink.txt")"
grep -qE '^7 checkpoint .*expect=failed' "$scratch/shrunk.scenario" || fail "the shrunk scenario lost the failing step"
grep -q "^parallelism 1$" "$scratch/shrunk.scenario" || fail "shrink did not simplify the header"
"$snapsim" replay --quiet "$scratch/shrunk.scenario" > "$scratch/shrunk.txt"; code=$?
[ "$code" -eq 1 ] || fail "the shrunk scenario exits $code, not 1"
grep -q "invariant 0 (unexpected error) violated at step 7" "$scratch/shrunk.txt" || fail "the shrunk scenario fails otherwise: $(cat "$scratch/shrunk.txt")"
"$snapsim" shrink scenarios/library/flink/lossy_notifications.scenario --out="$scratch/none.scenario" > "$scratch/noshrink.txt"; code=$?
[ "$code" -eq 0 ] || fail "shrinking a passing scenario exits $code"
grep -q "passes: there is no failure to shrink" "$scratch/noshrink.txt" || fail "no 'passes' message"

# A generated seed printed as a scenario replays to the same verdict and trace hash as the sweep's run of it.
"$snapsim" print --seed=3 > "$scratch/seed-3.scenario" || fail "print failed"
grep -q "^# Fault mix: " "$scratch/seed-3.scenario" || fail "the printed scenario has no banner"
"$snapsim" replay --quiet "$scratch/seed-3.scenario" > "$scratch/seed-3.txt"; code=$?
[ "$code" -eq 0 ] || fail "replaying the printed seed 3 exits $code"
sweep_hash=$(grep "^seed 3: ok" "$scratch/sweep.txt" | grep -o "trace_hash=[0-9a-f]*")
replay_hash=$(grep -o "trace_hash=[0-9a-f]*" "$scratch/seed-3.txt")
[ -n "$sweep_hash" ] && [ "$sweep_hash" = "$replay_hash" ] || fail "sweep ($sweep_hash) and replay ($replay_hash) differ"
# Pinning each sweep process to one CPU (the default) changes no report: the same seeds, verdicts and trace hashes
# as an unpinned run.
"$snapsim" sweep --seeds=4 --first=3 --pin=no --out="$scratch/sweep-free" > "$scratch/free.txt" ||
  fail "sweep --pin=no failed"
diff <(grep "^seed" "$scratch/one.txt" | sort) <(grep "^seed" "$scratch/free.txt" | sort) > /dev/null ||
  fail "a pinned and an unpinned sweep report differently"

# --- Issue #27: a failure is never lost, a sweep stops cleanly, records merge. ---
# An --out that cannot be created is refused before any seed runs (exit 2), naming it, never a reproduce command for
# a file that was never written.
"$snapsim" sweep --seeds=2 --first=3 --out=/dev/null/sweep > "$scratch/badout.txt" 2>&1; code=$?
[ "$code" -eq 2 ] || fail "an unwritable --out exits $code, not 2: $(cat "$scratch/badout.txt")"
grep -q "/dev/null/sweep" "$scratch/badout.txt" || fail "the unwritable --out is not named: $(cat "$scratch/badout.txt")"
if grep -q "scenario written to\|^seed 3" "$scratch/badout.txt"; then fail "seeds ran with an unwritable --out"; fi
# A failing seed whose scenario file cannot be written (a directory is in its place) prints the scenario instead.
mkdir -p "$scratch/blocked/seed-3.scenario"
SNAPSIM_TEST_ABORT_AT_VERB=writes "$snapsim" sweep --seeds=1 --first=3 --out="$scratch/blocked" \
  > "$scratch/blocked.txt" 2>&1; code=$?
[ "$code" -eq 1 ] || fail "the blocked failure exits $code"
grep -q "the scenario could not be written (.*blocked/seed-3.scenario" "$scratch/blocked.txt" ||
  fail "an unwritten scenario is not said: $(cat "$scratch/blocked.txt")"
if grep -q "scenario written to" "$scratch/blocked.txt"; then fail "a file never written is named as written"; fi
sed -n '/^-- scenario of seed 3 --$/,/^-- end of scenario --$/p' "$scratch/blocked.txt" | sed '1d;$d' \
  > "$scratch/printed-3.scenario"
"$snapsim" print --seed=3 > "$scratch/expected-3.scenario"
cmp -s "$scratch/printed-3.scenario" "$scratch/expected-3.scenario" || fail "the printed scenario is not seed 3's"
# An --out with a quote and a space: the reproduce command, run by a shell, replays the file that was written.
quoted_out="$scratch/it's a dir"
SNAPSIM_TEST_ABORT_AT_VERB=writes "$snapsim" sweep --seeds=1 --first=3 --out="$quoted_out" > "$scratch/quoted.txt" 2>&1
command=$(grep -m1 "reproduce: bazel run //:snapsim -- replay" "$scratch/quoted.txt" |
  sed "s|^ *reproduce: bazel run //:snapsim -- |\"\$snapsim\" |")
[ -n "$command" ] || fail "no replay command: $(cat "$scratch/quoted.txt")"
eval "$command --quiet" > "$scratch/quoted-replay.txt" 2>&1; code=$?
[ "$code" -eq 0 ] || fail "the quoted reproduce command exits $code: $command: $(cat "$scratch/quoted-replay.txt")"
grep -q "PASS" "$scratch/quoted-replay.txt" || fail "the quoted reproduce command replayed nothing"

# Replay of a scenario that crashes the process: a verdict with the step and the signal, the steps before it
# printed, exit 1 (not 134 and empty output); its --json_out record says the same.
SNAPSIM_TEST_ABORT_AT_VERB=compact "$snapsim" replay "$scratch/crashing.scenario" --json_out="$scratch/crash.jsonl" \
  > "$scratch/replay-crash.txt" 2>&1; code=$?
[ "$code" -eq 1 ] || fail "a crashing replay exits $code, not 1: $(cat "$scratch/replay-crash.txt")"
grep -q "CRASH  the process crashed at step 4 (compact), killed by signal 6 (Aborted)" "$scratch/replay-crash.txt" ||
  fail "no crash verdict: $(cat "$scratch/replay-crash.txt")"
grep -q "^  step 3 flush: ok" "$scratch/replay-crash.txt" || fail "the steps before the crash were lost"
grep -q '"invariant":-1' "$scratch/crash.jsonl" && grep -q '"verb":"compact"' "$scratch/crash.jsonl" ||
  fail "the crash record: $(cat "$scratch/crash.jsonl")"

# SIGINT (and SIGTERM) to a sweep: every worker stops, the summary so far and "interrupted after K of N seeds",
# exit 130, a summary record marked interrupted, and under --fs=posix no temporary directory left behind.
interrupt_sweep() {  # $1 signal, $2 its name as strsignal says it, $3 a name for the files, then the sweep's arguments
  local signal="$1" signal_name="$2" name="$3"
  shift 3
  mkdir -p "$scratch/tmp-$name"
  TMPDIR="$scratch/tmp-$name" "$snapsim" sweep "$@" --json_out="$scratch/$name.jsonl" > "$scratch/$name.txt" 2>&1 &
  local pid=$!
  # Waits on progress, not on a clock (a loaded machine is only slower; Bazel's timeout bounds a hang) until a seed
  # has been reported with workers running, then signals the parent alone.
  until [ -n "$(pgrep -P "$pid")" ] && [ -s "$scratch/$name.txt" ]; do
    kill -0 "$pid" 2> /dev/null ||
      fail "$name: the sweep ended before it could be interrupted: $(tail -5 "$scratch/$name.txt")"
    sleep 0.01
  done
  local workers
  workers=$(pgrep -P "$pid" | tr '\n' ' ')
  kill "-$signal" "$pid"
  wait "$pid"; code=$?
  [ "$code" -eq 130 ] || fail "$name: an interrupted sweep exits $code, not 130: $(tail -5 "$scratch/$name.txt")"
  grep -qE "^interrupted after [0-9]+ of 400 seeds \($signal_name\)" "$scratch/$name.txt" ||
    fail "$name: no 'interrupted after': $(tail -5 "$scratch/$name.txt")"
  grep -q "^reachability goals: not judged (the sweep was interrupted)" "$scratch/$name.txt" || fail "$name: goals"
  grep -q '"interrupted":true' "$scratch/$name.jsonl" || fail "$name: no interrupted summary record"
  for worker in $workers; do
    if kill -0 "$worker" 2> /dev/null; then fail "$name: worker $worker still runs after the sweep ended"; fi
  done
  [ -z "$(ls -A "$scratch/tmp-$name")" ] || fail "$name: left behind: $(ls -A "$scratch/tmp-$name")"
}
interrupt_sweep INT Interrupt sigint --seeds=400 --first=1 --jobs=2 --out="$scratch/sweep-int"
interrupt_sweep TERM Terminated sigterm --seeds=400 --fs=posix --generator=lifecycle --jobs=2 --out="$scratch/sweep-term"

# Records merge: the report of two shards' records (seeds 3-4 and 5-6) is the report of one sweep of 3-6, failures
# included (seed 5 crashes at its resume step), but for the files and CPU figures.
for range in "3 2 a" "5 2 b" "3 4 whole"; do
  set -- $range
  SNAPSIM_TEST_ABORT_AT_VERB=resume "$snapsim" sweep --first=$1 --seeds=$2 --out="$scratch/merge-$3" \
    --json_out="$scratch/merge-$3.jsonl" > /dev/null 2>&1
done
"$snapsim" report "$scratch/merge-a.jsonl" "$scratch/merge-b.jsonl" > "$scratch/report-ab.txt"; code=$?
[ "$code" -eq 1 ] || fail "a report with a failure exits $code, not 1"
"$snapsim" report "$scratch/merge-whole.jsonl" > "$scratch/report-whole.txt"
comparable() { sed '1,2d;/^slowest:/,$d;/^  cpu: /d' "$1"; }
diff <(comparable "$scratch/report-ab.txt") <(comparable "$scratch/report-whole.txt") > "$scratch/report.diff" ||
  fail "two shards' report differs from one sweep's: $(cat "$scratch/report.diff")"
grep -q "^swarm: 4 seeds, 1 failed" "$scratch/report-ab.txt" || fail "the merged report: $(head -5 "$scratch/report-ab.txt")"
grep -q "seeds 5" "$scratch/report-ab.txt" || fail "the failure group does not name seed 5: $(cat "$scratch/report-ab.txt")"
"$snapsim" report --json "$scratch/merge-a.jsonl" "$scratch/merge-b.jsonl" > "$scratch/report.json"
grep -qF '"failures": [' "$scratch/report.json" && grep -q '"invariant_name": "process crash"' "$scratch/report.json" || fail "no failure groups in the JSON report"
"$snapsim" report "$scratch/merge-whole.jsonl" --export_failures="$scratch/corpus" > /dev/null 2>&1
[ "$(ls "$scratch/corpus" | grep -c '^swarm-seed-5-[0-9a-f]*\.scenario$')" -eq 1 ] ||
  fail "seed 5's scenario was not exported: $(ls "$scratch/corpus")"
# --shrink shrinks one seed of each group and names the group by what it shrank to (the crash still at a resume).
SNAPSIM_TEST_ABORT_AT_VERB=resume "$snapsim" report --shrink "$scratch/merge-whole.jsonl" > "$scratch/shrunk-report.txt"
grep -q "^    shrunk to .*resume (" "$scratch/shrunk-report.txt" ||
  fail "report --shrink named no signature: $(cat "$scratch/shrunk-report.txt")"
# A record file that is not one names the file and the line.
{ head -1 "$scratch/merge-a.jsonl"; echo '{"type":"seed","seed":"x"}'; } > "$scratch/broken.jsonl"
"$snapsim" report "$scratch/broken.jsonl" > "$scratch/broken.txt" 2>&1; code=$?
[ "$code" -eq 2 ] || fail "a broken record file exits $code, not 2"
grep -q "broken.jsonl:2" "$scratch/broken.txt" || fail "the broken record is not located: $(cat "$scratch/broken.txt")"

# replay prints the header it runs, the phases, times in ms or s, and a snapshot that failed but was allowed to as
# such, not as ok.
"$snapsim" replay scenarios/library/sweeps/swarm_seed_1858_uploads_slower_than_the_timeout.scenario > "$scratch/phases.txt"
grep -qE "^  configuration: parallelism=[0-9]+ (full|incremental) " "$scratch/phases.txt" || fail "replay printed no configuration"
grep -q "^  -- from step [0-9]*: faults armed --$" "$scratch/phases.txt" || fail "replay printed no phase change"
grep -qE "^  step [0-9]+ checkpoint .*: checkpoint failed \(allowed: expect=any\): [A-Z_]+ at [0-9.]+ (ms|s) \([0-9.]+ (ms|s)\)$" \
  "$scratch/phases.txt" || fail "replay printed no allowed failure: $(grep -m3 'failed' "$scratch/phases.txt")"
if grep -qE "[0-9]us\)$" "$scratch/phases.txt"; then fail "replay printed microseconds: $(grep -m1 -E '[0-9]us\)$' "$scratch/phases.txt")"; fi

# explain: a failure no redraw avoids is certain from the header; a passing scenario has nothing to explain.
"$snapsim" explain --runs=3 scenarios/examples/expect_failed.scenario > "$scratch/explain.txt"; code=$?
[ "$code" -eq 1 ] || fail "explain of a failing scenario exits $code, not 1"
grep -q "^  redrawn from step 2    p=1.00 |####################|" "$scratch/explain.txt" ||
  fail "explain printed no plot: $(cat "$scratch/explain.txt")"
grep -q "^certain (p = 1): from the header" "$scratch/explain.txt" || fail "explain: $(tail -2 "$scratch/explain.txt")"
"$snapsim" explain scenarios/library/flink/lossy_notifications.scenario > "$scratch/explain-pass.txt"; code=$?
[ "$code" -eq 0 ] && grep -q "PASS: nothing to explain" "$scratch/explain-pass.txt" ||
  fail "explain of a passing scenario: $code $(cat "$scratch/explain-pass.txt")"

# --- The command line's conventions (#28): one flag parser for every command. ---
# --name value works as --name=value; a usage error is one line on stderr naming the argument, the hint to --help,
# exit 2, and nothing on stdout.
"$snapsim" sweep --seeds 2 --first 3 --out "$scratch/spaced" > "$scratch/spaced.txt" 2>&1 ||
  fail "--seeds 2 (with a space) failed: $(tail -3 "$scratch/spaced.txt")"
grep -q "^2 seeds, 0 failed" "$scratch/spaced.txt" || fail "--seeds 2 ran other seeds: $(tail -1 "$scratch/spaced.txt")"
for command in "sweep --sede=2" "replay --quite x.scenario" "report --jsn x.jsonl" "shrink --max_run=3 x" "explain --run=3 x" "print --sed=1"; do
  $snapsim_bin $command > "$scratch/usage.out" 2> "$scratch/usage.err" && fail "'$command' exits 0"
  code=$?
  [ "$code" -eq 2 ] || fail "'$command' exits $code, not 2"
  [ -s "$scratch/usage.out" ] && fail "'$command' printed on stdout: $(cat "$scratch/usage.out")"
  [ "$(wc -l < "$scratch/usage.err")" -eq 2 ] || fail "'$command' printed more than the error and the hint: $(cat "$scratch/usage.err")"
  grep -q "^snapsim ${command%% *}: unknown flag --.* (did you mean --" "$scratch/usage.err" ||
    fail "'$command': $(cat "$scratch/usage.err")"
  grep -q "^run 'snapsim ${command%% *} --help' for its usage$" "$scratch/usage.err" || fail "'$command': no hint"
done
"$snapsim" sweep --seeds=x 2> "$scratch/seeds.err"; code=$?
[ "$code" -eq 2 ] && grep -q "\-\-seeds takes a number from 1 to .*, not 'x'" "$scratch/seeds.err" ||
  fail "--seeds=x: $code $(cat "$scratch/seeds.err")"
# help CMD and CMD --help print that command's usage, on stdout, exit 0.
for command in replay sweep report shrink explain print steps; do
  "$snapsim" help "$command" > "$scratch/help-$command.txt" || fail "help $command exits non-zero"
  grep -q "^usage: snapsim $command " "$scratch/help-$command.txt" || fail "help $command: $(head -2 "$scratch/help-$command.txt")"
  "$snapsim" "$command" --help > "$scratch/help2-$command.txt" || fail "$command --help exits non-zero"
  cmp -s "$scratch/help-$command.txt" "$scratch/help2-$command.txt" || fail "help $command and $command --help differ"
done
grep -q "^  --json_out=FILE " "$scratch/help-sweep.txt" || fail "sweep --help does not list --json_out"
# Validation before the run: an unwritable --trace_out, a directory or a missing file named with the reason, and
# fault steps under --fs=posix refused before any step runs.
"$snapsim" replay --trace_out="$scratch" scenarios/library/flink/lossy_notifications.scenario > "$scratch/trace-dir.out" 2> "$scratch/trace-dir.err"
code=$?
[ "$code" -eq 2 ] || fail "a --trace_out that is a directory exits $code"
grep -q "trace_out: cannot write .*: is a directory" "$scratch/trace-dir.err" || fail "trace_out: $(cat "$scratch/trace-dir.err")"
if grep -q "step 1 " "$scratch/trace-dir.out"; then fail "the scenario ran before --trace_out was refused"; fi
"$snapsim" replay "$scratch" > "$scratch/dir.txt"; code=$?
[ "$code" -eq 2 ] && grep -q "is a directory" "$scratch/dir.txt" || fail "replaying a directory: $code $(cat "$scratch/dir.txt")"
grep -q "No such file or directory" "$scratch/missing.txt" || fail "a missing file's reason: $(cat "$scratch/missing.txt")"
printf 'parallelism 1\n1 writes count=5 keys=5\n2 fault kind=storage-slow chance=1/16 ms=10\n3 checkpoint\n' > "$scratch/posix-fault.scenario"
"$snapsim" replay --fs=posix "$scratch/posix-fault.scenario" > "$scratch/posix-fault.txt"; code=$?
[ "$code" -eq 2 ] || fail "a fault under --fs=posix exits $code: $(cat "$scratch/posix-fault.txt")"
grep -q "posix-fault.scenario:3:3: step 2 fault: faults are injected in the simulated world only" "$scratch/posix-fault.txt" ||
  fail "the posix fault is not located: $(cat "$scratch/posix-fault.txt")"
if grep -q "step 1 writes" "$scratch/posix-fault.txt"; then fail "step 1 ran before the fault step was refused"; fi
# Reproduce commands name absolute paths: they work pasted into another directory.
(cd "$scratch" && "$snapsim" replay violation.scenario > "$scratch/relative.txt")
grep -q "reproduce: bazel run //:snapsim -- replay $scratch/violation.scenario" "$scratch/relative.txt" ||
  fail "the reproduce command is not absolute: $(grep reproduce "$scratch/relative.txt")"

echo "snapsim CLI: all checks passed"
