#!/usr/bin/env bash
# `bazel test //scenarios:regression_test --test_filter=NAME` runs that scenario alone (scenarios/README.md, "The
# regression library"): Bazel passes the filter as TESTBRIDGE_TEST_ONLY, which a --gtest_filter in the BUILD file
# would override. Each of the two targets built from regression_test.cc runs its own suite only.
set -uo pipefail
simulated="$1"
posix="$2"
fail() { echo "FAILED: $*"; exit 1; }
TESTBRIDGE_TEST_ONLY='*lossy_notifications' "$simulated" > "$TEST_TMPDIR/one.txt" 2>&1 || fail "the filtered run failed"
grep -q "^\[  PASSED  \] 1 test\.$" "$TEST_TMPDIR/one.txt" || fail "the filter did not select one test: $(tail -5 "$TEST_TMPDIR/one.txt")"
grep -q "ReplaysGreen/lossy_notifications" "$TEST_TMPDIR/one.txt" || fail "the filter ran another test"
"$simulated" --gtest_list_tests > "$TEST_TMPDIR/simulated.txt" || fail "listing the simulated tests failed"
if grep -q "PosixRegressionLibraryTest" "$TEST_TMPDIR/simulated.txt"; then fail "the simulated target holds the posix suite"; fi
"$posix" --gtest_list_tests > "$TEST_TMPDIR/posix.txt" || fail "listing the posix tests failed"
grep -q "PosixRegressionLibraryTest" "$TEST_TMPDIR/posix.txt" || fail "the posix target lost its suite"
if grep -q "^RegressionLibraryTest\|^Library/RegressionLibraryTest\|^Replay\." "$TEST_TMPDIR/posix.txt"; then
  fail "the posix target holds the simulated tests"
fi
echo "regression_test --test_filter: one scenario selected; each target runs its own suite"
