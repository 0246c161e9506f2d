// The simulated checkpoint storage: an object store (atomic put through a stream, get, delete, list, exists,
// stat with CRC-32C checksums) whose every operation takes virtual time drawn from the seed and passes a fault
// hook. Shared by all simulated machines, like a job's DFS. Plays the role of Flink's checkpoint FileSystem.
//
// Trace: every operation is an instant (component "object-store": "<operation> <path> <size>[ FAILED]"); each upload
// (Create .. Finish) and each Read is also a span, "upload <path>" and "download <path>", from the start of the
// operation to its end in virtual time, suffixed " FAILED" or " CANCELLED" when it did not succeed.
//
// Fault model: the hook may fail any operation before it takes effect. Faults that leave a partial object behind
// or report a written object as failed are composed by faults/ on top of this hook.
#ifndef SNAPSIM_SIM_SIM_OBJECT_STORE_H_
#define SNAPSIM_SIM_SIM_OBJECT_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sim/prng.h"
#include "sim/sim_scheduler.h"
#include "snapshot/checkpoint_storage.h"

namespace snapsim {

enum class ObjectStoreOperationKind { kCreate, kWrite, kFinish, kRead, kDelete, kList, kExists, kStat, kSync };

absl::string_view ObjectStoreOperationKindName(ObjectStoreOperationKind kind);

struct ObjectStoreOperation {
  ObjectStoreOperationKind kind;
  std::string path;
  uint64_t size = 0;
};

using ObjectStoreFaultHook = std::function<absl::Status(const ObjectStoreOperation&)>;

// What an injector decides for one operation (faults/ declares the fault kinds built from these).
struct ObjectStoreFault {
  enum class Effect {
    kNone,
    // Fails before the operation takes effect.
    kFailBefore,
    // The operation takes effect, then reports `status` (finish: the object is stored; delete: it is gone).
    kFailAfter,
    // Finish stores the first half of the object's bytes under its path, then reports `status`.
    kPartial,
    // A read succeeds but returns the bytes with bit `corrupt_bit` (modulo their length) flipped; what is stored
    // stays intact (silent corruption in transit).
    kCorrupt,
    // Before the read, bit `corrupt_bit` (modulo the length) of the stored object flips for good (bit rot at rest);
    // the checksum the store recorded at commit stays, so only a reader that verifies notices.
    kRot,
  };
  Effect effect = Effect::kNone;
  absl::Status status;
  // Added to the operation's latency (a slow request), whatever the effect.
  int64_t extra_latency_micros = 0;
  uint64_t corrupt_bit = 0;
};
using ObjectStoreFaultInjector = std::function<ObjectStoreFault(const ObjectStoreOperation&)>;

struct SimObjectStoreOptions {
  // Latency of one request, uniform in [min, max] microseconds of virtual time.
  int64_t request_latency_micros_min = 200;
  int64_t request_latency_micros_max = 2000;
  // Transfer time per MiB written or read.
  int64_t transfer_micros_per_mib = 5000;
};

class SimObjectStore : public CheckpointStorage {
 public:
  SimObjectStore(SimScheduler* scheduler, Prng prng, SimObjectStoreOptions options = {});

  void SetFaultHook(ObjectStoreFaultHook hook);
  // Replaces the hook with an injector that may also fail after the effect, leave a partial object, or slow down.
  void SetFaultInjector(ObjectStoreFaultInjector injector);
  // From now on, draws from a stream of `seed` instead (`snapsim explain`: the rest of a run redrawn, its prefix
  // replayed exactly).
  void Reseed(uint64_t seed);

  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> Create(const std::string& path) override;
  absl::StatusOr<std::string> Read(const std::string& path) override;
  absl::Status Delete(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& prefix) override;
  absl::StatusOr<bool> Exists(const std::string& path) override;
  absl::StatusOr<StoredObjectInfo> Stat(const std::string& path) override;

  // Inspection for the checker and tests: no latency, no faults, no trace.
  std::vector<std::string> AllPaths() const;
  // When an object was last committed (virtual time), or -1: whether uploads were still going on at some moment.
  int64_t last_commit_micros() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_commit_micros_;
  }
  uint64_t TotalBytes() const;
  // The object's size and checksum, or nullopt if absent.
  std::optional<StoredObjectInfo> Inspect(const std::string& path) const;
  std::optional<std::string> InspectBytes(const std::string& path) const;
  // Puts a complete object (side worlds copy snapshots with it).
  void PutDirect(const std::string& path, std::string bytes);

  // Used by the output stream: the operation's latency and its fault. Begin fails on any fault effect.
  ObjectStoreFault BeginOperation(const ObjectStoreOperation& operation);
  absl::Status Begin(const ObjectStoreOperation& operation);
  // `replace`: the object may exist already (a stream's earlier sync of it); otherwise it must not.
  absl::StatusOr<StoredObjectInfo> Commit(const std::string& path, std::string bytes, bool replace = false);

 private:
  void Delay(uint64_t bytes);
  // Read without its span.
  absl::StatusOr<std::string> ReadAfterStart(const std::string& path);

  SimScheduler* scheduler_;
  const SimObjectStoreOptions options_;
  mutable std::mutex mutex_;
  int64_t last_commit_micros_ = -1;  // guarded by mutex_
  Prng prng_;
  ObjectStoreFaultHook fault_hook_;
  ObjectStoreFaultInjector fault_injector_;
  std::map<std::string, std::string> objects_;
  std::map<std::string, uint32_t> checksums_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_SIM_OBJECT_STORE_H_
