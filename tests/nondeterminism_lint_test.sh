#!/usr/bin/env bash
# The simulated path (backend/, snapshot/, sim/, faults/) must not use the wall clock, unseeded or
# implementation-defined randomness, or threads that run alongside the simulation (STYLE.md rule 1).
# Allowed exceptions, each with its reason:
#   backend/thread_runtime.cc  the real-threads runtime, used only for --fs=posix and production
#   *_test.cc, *_benchmark.cc  tests and benchmarks measure or drive the world from outside
#   sim/sim_scheduler.cc       hand-off threads: they run only while holding the simulation's baton
set -uo pipefail

banned='std::random_device|[^a-zA-Z_:]rand\(|[^a-zA-Z_]srand\(|system_clock::now|steady_clock::now|high_resolution_clock|absl::BitGen|absl::InsecureBitGen|absl::Now\(|_distribution<|std::mt19937|std::default_random_engine|gettimeofday|clock_gettime|[^a-zA-Z_]time\(nullptr\)|std::this_thread::sleep|usleep\(|std::async|std::thread'

files=$(find -L backend snapshot sim faults -type f \( -name '*.cc' -o -name '*.h' \) 2>/dev/null | sort)
if [ -z "$files" ]; then
  echo "no sources found under backend/ snapshot/ sim/ faults/: the lint would check nothing"
  exit 1
fi

violations=0
for file in $files; do
  case "$file" in
    backend/thread_runtime.cc|*_test.cc|*_benchmark.cc) continue ;;
  esac
  while IFS= read -r hit; do
    [ -z "$hit" ] && continue
    line_text=${hit#*:}  # drop the line number
    # Comments may name what they avoid.
    case "$(echo "$line_text" | sed 's/^[[:space:]]*//')" in
      //*) continue ;;
    esac
    if [ "$file" = "sim/sim_scheduler.cc" ] && echo "$line_text" | grep -q 'std::thread'; then
      continue
    fi
    echo "$file:$hit"
    violations=$((violations + 1))
  done < <(grep -nE "$banned" "$file")
done

checked=$(echo "$files" | wc -l)
if [ "$violations" -gt 0 ]; then
  echo "$violations nondeterministic API use(s) in the simulated path (STYLE.md rule 1); see above"
  exit 1
fi
echo "checked $checked files: no nondeterministic API in the simulated path"
