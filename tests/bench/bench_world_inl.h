// Must(): benchmarks stop at the first error, naming it (a benchmark that measures a failure measures nothing).
#ifndef SNAPSIM_TESTS_BENCH_BENCH_WORLD_INL_H_
#define SNAPSIM_TESTS_BENCH_BENCH_WORLD_INL_H_

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace snapsim {
namespace bench {

template <typename T>
T Must(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::fprintf(stderr, "benchmark: %s failed: %s\n", what, value.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(value);
}

inline void Must(const absl::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "benchmark: %s failed: %s\n", what, status.ToString().c_str());
    std::exit(1);
  }
}

}  // namespace bench
}  // namespace snapsim

#endif  // SNAPSIM_TESTS_BENCH_BENCH_WORLD_INL_H_
