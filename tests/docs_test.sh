#!/usr/bin/env bash
# //tests:docs_test: every example and command in README.md and scenarios/README.md, run and compared
# (tests/docs_test.py says how). Runs from the workspace root of the test's runfiles.
set -euo pipefail
snapsim="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
exec python3 tests/docs_test.py "$snapsim" README.md scenarios/README.md
