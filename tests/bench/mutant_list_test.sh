#!/usr/bin/env bash
# The mutants tests/mutants/run.sh walks (backend/mutation.h's header comment, parsed as run.sh parses it) are the
# ones the bug-finding benchmark walks (kMutantNames), in the same order.
set -uo pipefail
benchmark="$1"
header="$2"
from_comment="$(sed -n 's|^//   \([a-z][a-z-]*\) .*|\1|p' "$header")"
from_code="$("$benchmark" --list_mutants)" || { echo "FAIL: $benchmark --list_mutants exited non-zero"; exit 1; }
if [ "$from_comment" != "$from_code" ]; then
  echo "FAIL: backend/mutation.h's comment and kMutantNames differ:"
  diff <(echo "$from_comment") <(echo "$from_code")
  exit 1
fi
[ "$(echo "$from_code" | wc -l)" -ge 17 ] || { echo "FAIL: fewer than 17 mutants listed"; exit 1; }
echo "PASS: $(echo "$from_code" | wc -l) mutants, one list"
