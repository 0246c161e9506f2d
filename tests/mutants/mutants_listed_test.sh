#!/usr/bin/env bash
# The mutation self-test's bookkeeping, checked in the default suite (run.sh itself builds with --config=mutants and
# so cannot run inside `bazel test`): every mutant listed in backend/mutation.h has a mutation point in the system
# under test and a shrunk counterexample in tests/mutants/caught/ (or is listed as not yet catchable there); every
# mutation point is listed; no BUILD file compiles the points in; and a production binary ignores SNAPSIM_MUTANT:
# each kept counterexample, which fails with its mutant, passes on the system as built.
set -uo pipefail
snapsim="$1"
fail() { echo "FAILED: $*"; exit 1; }

listed=$(sed -n 's|^//   \([a-z][a-z-]*\) .*|\1|p' backend/mutation.h | sort)
[ "$(echo "$listed" | wc -l)" -ge 8 ] || fail "fewer than 8 mutants listed in backend/mutation.h"
used=$(cat snapshot/*.cc backend/*.cc sim/*.cc | grep -o 'SNAPSIM_MUTANT("[a-z-]*")' | sed 's/.*("\(.*\)")/\1/' | sort -u)
[ "$listed" = "$used" ] || fail "listed mutants and mutation points differ: listed [$listed] used [$used]"
if grep -rn "SNAPSIM_MUTANTS" --include=BUILD.bazel . > /dev/null; then fail "a BUILD file defines SNAPSIM_MUTANTS"; fi

for mutant in $listed; do
  file="tests/mutants/caught/$mutant.scenario"
  if [ ! -f "$file" ]; then
    grep -q "^$mutant:" tests/mutants/README.md || fail "$mutant has no counterexample and no explanation"
    continue
  fi
  steps=$(grep -cE '^[0-9]+ ' "$file")
  [ "$steps" -le 15 ] || fail "$file has $steps steps (more than 15)"
  SNAPSIM_MUTANT="$mutant" "$snapsim" replay --quiet "$file" > "$TEST_TMPDIR/$mutant.txt"; code=$?
  [ "$code" -eq 0 ] || fail "$file fails on the production build (SNAPSIM_MUTANT must be ignored there): $(head -1 "$TEST_TMPDIR/$mutant.txt")"
done
echo "mutants: $(echo "$listed" | wc -l) listed, every one with a mutation point; production ignores SNAPSIM_MUTANT"
