// The two sides every snapshot benchmark compares: the simulated world (SimScheduler, a SimFileSystem machine, the
// in-memory SimObjectStore) and a real directory with real threads (Env::Default(), ThreadRuntime,
// DirectoryCheckpointStorage), the same snapshot code on both. Plus the state the benchmarks snapshot.
#ifndef SNAPSIM_TESTS_BENCH_BENCH_WORLD_H_
#define SNAPSIM_TESTS_BENCH_BENCH_WORLD_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend/keyed_state_backend.h"
#include "backend/runtime.h"
#include "snapshot/checkpoint_storage.h"
#include "snapshot/snapshot_strategies.h"
#include "snapshot/state_uploader.h"

namespace snapsim {
namespace bench {

class BenchSide {
 public:
  // `directory`: where the real side keeps its instances and checkpoint storage (a fresh subdirectory, removed by
  // the destructor).
  static std::unique_ptr<BenchSide> Simulated();
  static std::unique_ptr<BenchSide> RealDisk(const std::string& directory);
  virtual ~BenchSide() = default;

  virtual const char* name() const = 0;
  virtual Runtime& runtime() = 0;
  virtual CheckpointStorage& storage() = 0;
  virtual StateUploader& uploader() = 0;
  // A backend configuration for a new instance called `instance` on this side.
  virtual KeyedStateBackendConfig Config(const std::string& instance) = 0;
  // Lets background work finish (the simulated scheduler drains; real threads are joined by their owners).
  virtual void Settle() = 0;
};

// Registers value, list and map state ("count", "events", "attributes") and writes about `bytes` of incompressible
// 100-byte values over them, keys "key-<n>" from `first_key` (a third of the entries each), then flushes. Returns the entries written.
absl::StatusOr<uint64_t> FillState(KeyedStateBackend& backend, uint64_t bytes, uint64_t first_key = 0,
                                   char fill = 'v');

// Takes checkpoint `id` with `strategy` and waits for it.
absl::StatusOr<SnapshotResult> TakeSnapshot(BenchSide& side, SnapshotStrategyBase& strategy, int64_t id);

template <typename T>
T Must(absl::StatusOr<T> value, const char* what);
void Must(const absl::Status& status, const char* what);

}  // namespace bench
}  // namespace snapsim

#include "tests/bench/bench_world_inl.h"

#endif  // SNAPSIM_TESTS_BENCH_BENCH_WORLD_H_
