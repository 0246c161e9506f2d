#!/usr/bin/env bash
# `snapsim` as a user runs it: verdicts and exit codes (0 pass, 1 violation, 2 bad input), errors naming
# file:line:column, --help, --until, and a trace file.
set -uo pipefail
snapsim="$1"
scratch="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAILED: $*"; exit 1; }

# Output goes to a file first: `grep -q` exits at its first match, and under pipefail the writer's SIGPIPE would
# fail the pipeline once the output outgrows the pipe (it did when the vocabulary grew).
"$snapsim" --help > "$scratch/help.txt" || fail "--help exits non-zero"
grep -q "replay FILE" "$scratch/help.txt" || fail "--help does not describe replay"
"$snapsim" steps > "$scratch/steps.txt" || fail "steps exits non-zero"
grep -q "restore-check" "$scratch/steps.txt" || fail "steps does not list the vocabulary"
grep -q "corrupt" "$scratch/steps.txt" || fail "steps does not list the corrupt step"

"$snapsim" replay --quiet scenarios/lossy_notifications.scenario > "$scratch/pass.txt"; code=$?
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

"$snapsim" replay --quiet --verbose scenarios/lossy_notifications.scenario > "$scratch/verbose.txt" || fail "--verbose failed"
grep -qE '^[0-9]+us object-store (create|finish) checkpoints/' "$scratch/verbose.txt" || fail "--verbose printed no storage events"
grep -qE '^[0-9]+us job deliver notify-complete ' "$scratch/verbose.txt" || fail "--verbose printed no message deliveries"

"$snapsim" replay --until=3 scenarios/claim_native_savepoint.scenario > "$scratch/until.txt"; code=$?
[ "$code" -eq 0 ] || fail "--until exits $code"
grep -q -- "-- state after step 3 (end-of-run checks not run) --" "$scratch/until.txt" || fail "--until printed no state"
grep -q "savepoints/savepoint-job-1-" "$scratch/until.txt" || fail "--until listed no storage"
if grep -q "step 4 " "$scratch/until.txt"; then fail "--until=3 ran step 4"; fi

"$snapsim" replay --quiet --trace_out="$scratch/a.json" scenarios/hard_kill_mid_upload.scenario > /dev/null || fail "traced replay failed"
"$snapsim" replay --quiet --trace_out="$scratch/b.json" scenarios/hard_kill_mid_upload.scenario > /dev/null || fail "traced replay failed"
cmp -s "$scratch/a.json" "$scratch/b.json" || fail "two replays wrote different trace JSON"
grep -q '"ph":"X"' "$scratch/a.json" || fail "the trace has no duration spans"

"$snapsim" replay --fs=nfs scenarios/lossy_notifications.scenario > /dev/null 2>&1; code=$?
[ "$code" -eq 2 ] || fail "an unknown --fs exits $code"
"$snapsim" replay /nonexistent.scenario > "$scratch/missing.txt"; code=$?
[ "$code" -eq 2 ] || fail "a missing file exits $code"
grep -q "/nonexistent.scenario" "$scratch/missing.txt" || fail "the missing file is not named"
"$snapsim" sweep --seeds=2 --first=3 --out="$scratch/sweep" > "$scratch/sweep.txt"; code=$?
[ "$code" -eq 0 ] || fail "sweep of seeds 3-4 exits $code: $(tail -5 "$scratch/sweep.txt")"
grep -q "^seed 3: ok  Fault mix: " "$scratch/sweep.txt" || fail "the sweep printed no banner line for seed 3"
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
    grep -q "^seed $seed: FAILED .*the process running it crashed, killed by signal 6" "$scratch/crash.txt" ||
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
"$snapsim" shrink scenarios/lossy_notifications.scenario --out="$scratch/none.scenario" > "$scratch/noshrink.txt"; code=$?
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
echo "snapsim CLI: all checks passed"
