#include "sim/sim_object_store.h"

#include <atomic>

#include "absl/strings/match.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "backend/encoding.h"

namespace snapsim {
namespace {

// One upload: Create .. Finish. The upload's span ("upload <path>", from the start of Create) is recorded once, when
// the upload ends: committed, failed (" FAILED"), or cancelled (" CANCELLED", at Cancel, which may come from
// another activity; it too holds the baton). A stream dropped without any of these leaves no span.
class SimOutputStream : public CheckpointOutputStream {
 public:
  SimOutputStream(SimObjectStore* store, SimScheduler* scheduler, std::string path, int64_t start_micros)
      : store_(store), scheduler_(scheduler), path_(std::move(path)), start_micros_(start_micros) {}

  absl::Status Write(absl::string_view data) override {
    if (cancelled_) return absl::CancelledError(absl::StrCat("stream to ", path_, " was cancelled"));
    if (finished_) return absl::FailedPreconditionError(absl::StrCat("stream to ", path_, " is finished"));
    absl::Status status = store_->Begin(ObjectStoreOperation{ObjectStoreOperationKind::kWrite, path_, data.size()});
    if (!status.ok()) {
      EndSpan(" FAILED");
      return status;
    }
    if (cancelled_) return absl::CancelledError(absl::StrCat("stream to ", path_, " was cancelled"));
    buffer_.append(data.data(), data.size());
    return absl::OkStatus();
  }

  absl::StatusOr<StoredObjectInfo> Finish() override {
    if (cancelled_) return absl::CancelledError(absl::StrCat("stream to ", path_, " was cancelled"));
    if (finished_) return absl::FailedPreconditionError(absl::StrCat("stream to ", path_, " is finished"));
    finished_ = true;
    const ObjectStoreFault fault =
        store_->BeginOperation(ObjectStoreOperation{ObjectStoreOperationKind::kFinish, path_, buffer_.size()});
    if (fault.effect == ObjectStoreFault::Effect::kFailBefore) {
      EndSpan(" FAILED");
      return fault.status;
    }
    if (cancelled_) return absl::CancelledError(absl::StrCat("stream to ", path_, " was cancelled"));
    // Cut short: half of what was not synced yet (what a sync made durable stays).
    if (fault.effect == ObjectStoreFault::Effect::kPartial) buffer_.resize(synced_ + (buffer_.size() - synced_) / 2);
    absl::StatusOr<StoredObjectInfo> committed = store_->Commit(path_, std::move(buffer_), /*replace=*/synced_any_);
    if (fault.effect != ObjectStoreFault::Effect::kNone) {
      // Written (in full or cut short) but reported failed: the writer never learns the object is there.
      EndSpan(fault.effect == ObjectStoreFault::Effect::kPartial ? " PARTIAL" : " FAILED AFTER EFFECT");
      return fault.status;
    }
    EndSpan(committed.ok() ? "" : " FAILED");
    return committed;
  }

  absl::StatusOr<StoredObjectInfo> Sync() override {
    if (cancelled_) return absl::CancelledError(absl::StrCat("stream to ", path_, " was cancelled"));
    if (finished_) return absl::FailedPreconditionError(absl::StrCat("stream to ", path_, " is finished"));
    const ObjectStoreFault fault = store_->BeginOperation(
        ObjectStoreOperation{ObjectStoreOperationKind::kSync, path_, buffer_.size() - synced_});
    if (fault.effect == ObjectStoreFault::Effect::kFailBefore) return fault.status;
    if (cancelled_) return absl::CancelledError(absl::StrCat("stream to ", path_, " was cancelled"));
    const uint64_t durable =
        fault.effect == ObjectStoreFault::Effect::kPartial ? synced_ + (buffer_.size() - synced_) / 2 : buffer_.size();
    absl::StatusOr<StoredObjectInfo> committed =
        store_->Commit(path_, buffer_.substr(0, durable), /*replace=*/synced_any_);
    if (!committed.ok()) return committed.status();
    synced_any_ = true;
    synced_ = durable;
    if (fault.effect != ObjectStoreFault::Effect::kNone) return fault.status;  // durable, but reported failed
    return committed;
  }

  void Cancel() override {
    cancelled_ = true;
    EndSpan(" CANCELLED");
  }

 private:
  void EndSpan(absl::string_view outcome) {
    if (span_recorded_.exchange(true)) return;
    TraceArgs args;
    if (scheduler_->trace().keeps_events()) {
      args = {{"path", path_},
              {"bytes", absl::StrCat(buffer_.size())},
              {"outcome", outcome.empty() ? "stored" : std::string(absl::StripAsciiWhitespace(outcome))}};
    }
    scheduler_->RecordSpan("object-store", absl::StrCat("upload ", path_, outcome), start_micros_, std::move(args));
  }

  SimObjectStore* store_;
  SimScheduler* scheduler_;
  const std::string path_;
  const int64_t start_micros_;
  std::string buffer_;
  uint64_t synced_ = 0;      // bytes of buffer_ a sync made durable
  bool synced_any_ = false;  // the object exists: a sync committed it
  bool finished_ = false;
  std::atomic<bool> cancelled_{false};      // Cancel may come from another activity
  std::atomic<bool> span_recorded_{false};  // so may the end of the span
};

}  // namespace

absl::string_view ObjectStoreOperationKindName(ObjectStoreOperationKind kind) {
  switch (kind) {
    case ObjectStoreOperationKind::kCreate:
      return "create";
    case ObjectStoreOperationKind::kWrite:
      return "write";
    case ObjectStoreOperationKind::kFinish:
      return "finish";
    case ObjectStoreOperationKind::kRead:
      return "read";
    case ObjectStoreOperationKind::kDelete:
      return "delete";
    case ObjectStoreOperationKind::kList:
      return "list";
    case ObjectStoreOperationKind::kExists:
      return "exists";
    case ObjectStoreOperationKind::kStat:
      return "stat";
    case ObjectStoreOperationKind::kSync:
      return "sync";
  }
  return "?";
}

SimObjectStore::SimObjectStore(SimScheduler* scheduler, Prng prng, SimObjectStoreOptions options)
    : scheduler_(scheduler), options_(options), prng_(std::move(prng)) {}

void SimObjectStore::SetFaultHook(ObjectStoreFaultHook hook) {
  std::lock_guard<std::mutex> lock(mutex_);
  fault_hook_ = std::move(hook);
}

void SimObjectStore::Delay(uint64_t bytes) {
  int64_t latency;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    latency = prng_.UniformInRange(options_.request_latency_micros_min, options_.request_latency_micros_max);
  }
  latency += static_cast<int64_t>(bytes * static_cast<uint64_t>(options_.transfer_micros_per_mib) >> 20);
  scheduler_->SleepForMicros(latency);
}

void SimObjectStore::Reseed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mutex_);
  prng_ = Prng(seed).Child("object-store");
}

void SimObjectStore::SetFaultInjector(ObjectStoreFaultInjector injector) {
  std::lock_guard<std::mutex> lock(mutex_);
  fault_injector_ = std::move(injector);
}

ObjectStoreFault SimObjectStore::BeginOperation(const ObjectStoreOperation& operation) {
  ObjectStoreFaultHook hook;
  ObjectStoreFaultInjector injector;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    hook = fault_hook_;
    injector = fault_injector_;
  }
  ObjectStoreFault fault;
  if (injector) {
    fault = injector(operation);
  } else if (hook) {
    fault.status = hook(operation);
    if (!fault.status.ok()) fault.effect = ObjectStoreFault::Effect::kFailBefore;
  }
  Delay(operation.size);
  if (fault.extra_latency_micros > 0) scheduler_->SleepForMicros(fault.extra_latency_micros);
  static constexpr const char* kEffects[] = {"", " FAILED", " FAILED AFTER EFFECT", " PARTIAL", " CORRUPTED",
                                             " ROTTED"};
  scheduler_->RecordTrace("object-store", absl::StrCat(ObjectStoreOperationKindName(operation.kind), " ",
                                                       operation.path, " ", operation.size,
                                                       kEffects[static_cast<int>(fault.effect)],
                                                       fault.extra_latency_micros > 0 ? " SLOW" : ""));
  return fault;
}

absl::Status SimObjectStore::Begin(const ObjectStoreOperation& operation) {
  const ObjectStoreFault fault = BeginOperation(operation);
  return fault.effect == ObjectStoreFault::Effect::kNone ? absl::OkStatus() : fault.status;
}

absl::StatusOr<StoredObjectInfo> SimObjectStore::Commit(const std::string& path, std::string bytes, bool replace) {
  const StoredObjectInfo info{path, bytes.size(), Crc32c(bytes)};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!replace && objects_.count(path) > 0) return absl::AlreadyExistsError(absl::StrCat("object ", path, " exists"));
    checksums_[path] = info.checksum;
    objects_[path] = std::move(bytes);
    last_commit_micros_ = scheduler_->NowMicros();
  }
  // What is stored, not only its name and size, reaches the trace hash: two runs of one seed must store the same
  // bytes (DESIGN.md invariant 7), which RocksDB's session id would otherwise break (see sim_env.cc).
  scheduler_->RecordTrace("object-store",
                          absl::StrCat("stored ", path, " ", info.size_bytes, " crc32c=", absl::Hex(info.checksum)));
  return info;
}

absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> SimObjectStore::Create(const std::string& path) {
  const int64_t start_micros = scheduler_->NowMicros();
  absl::Status status = Begin(ObjectStoreOperation{ObjectStoreOperationKind::kCreate, path, 0});
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (objects_.count(path) > 0) status = absl::AlreadyExistsError(absl::StrCat("object ", path, " exists"));
  }
  if (!status.ok()) {
    TraceArgs args;
    if (scheduler_->trace().keeps_events()) {
      args = {{"path", path}, {"bytes", "0"}, {"outcome", "FAILED"}, {"status", status.ToString()}};
    }
    scheduler_->RecordSpan("object-store", absl::StrCat("upload ", path, " FAILED"), start_micros, std::move(args));
    return status;
  }
  return std::unique_ptr<CheckpointOutputStream>(new SimOutputStream(this, scheduler_, path, start_micros));
}

absl::StatusOr<std::string> SimObjectStore::Read(const std::string& path) {
  const int64_t start_micros = scheduler_->NowMicros();
  absl::StatusOr<std::string> bytes = ReadAfterStart(path);
  // Arguments only for a trace that keeps its events, as for disk operations (sim_machine.cc).
  TraceArgs args;
  if (scheduler_->trace().keeps_events()) {
    args = {{"path", path},
            {"bytes", absl::StrCat(bytes.ok() ? bytes->size() : 0)},
            {"status", bytes.ok() ? "OK" : bytes.status().ToString()}};
  }
  scheduler_->RecordSpan("object-store", absl::StrCat("download ", path, bytes.ok() ? "" : " FAILED"), start_micros,
                         std::move(args));
  return bytes;
}

absl::StatusOr<std::string> SimObjectStore::ReadAfterStart(const std::string& path) {
  uint64_t size = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = objects_.find(path);
    if (found != objects_.end()) size = found->second.size();
  }
  const ObjectStoreFault fault = BeginOperation(ObjectStoreOperation{ObjectStoreOperationKind::kRead, path, size});
  if (fault.effect != ObjectStoreFault::Effect::kNone && fault.effect != ObjectStoreFault::Effect::kCorrupt &&
      fault.effect != ObjectStoreFault::Effect::kRot) {
    return fault.status;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = objects_.find(path);
  if (found == objects_.end()) return absl::NotFoundError(absl::StrCat("object ", path, " not found"));
  if (fault.effect == ObjectStoreFault::Effect::kRot && !found->second.empty()) {
    const uint64_t bit = fault.corrupt_bit % (found->second.size() * 8);
    found->second[bit / 8] = static_cast<char>(found->second[bit / 8] ^ (1 << (bit % 8)));
  }
  std::string bytes = found->second;
  if (fault.effect == ObjectStoreFault::Effect::kCorrupt && !bytes.empty()) {
    const uint64_t bit = fault.corrupt_bit % (bytes.size() * 8);
    bytes[bit / 8] = static_cast<char>(bytes[bit / 8] ^ (1 << (bit % 8)));
  }
  return bytes;
}

absl::Status SimObjectStore::Delete(const std::string& path) {
  const ObjectStoreFault fault = BeginOperation(ObjectStoreOperation{ObjectStoreOperationKind::kDelete, path, 0});
  if (fault.effect == ObjectStoreFault::Effect::kFailBefore || fault.effect == ObjectStoreFault::Effect::kPartial) {
    return fault.status;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  const bool erased = objects_.erase(path) > 0;
  checksums_.erase(path);
  if (fault.effect == ObjectStoreFault::Effect::kFailAfter) return fault.status;
  if (!erased) return absl::NotFoundError(absl::StrCat("object ", path, " not found"));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> SimObjectStore::List(const std::string& prefix) {
  absl::Status status = Begin(ObjectStoreOperation{ObjectStoreOperationKind::kList, prefix, 0});
  if (!status.ok()) return status;
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> paths;
  for (auto it = objects_.lower_bound(prefix); it != objects_.end() && absl::StartsWith(it->first, prefix); ++it) {
    paths.push_back(it->first);
  }
  return paths;
}

absl::StatusOr<bool> SimObjectStore::Exists(const std::string& path) {
  absl::Status status = Begin(ObjectStoreOperation{ObjectStoreOperationKind::kExists, path, 0});
  if (!status.ok()) return status;
  std::lock_guard<std::mutex> lock(mutex_);
  return objects_.count(path) > 0;
}

absl::StatusOr<StoredObjectInfo> SimObjectStore::Stat(const std::string& path) {
  absl::Status status = Begin(ObjectStoreOperation{ObjectStoreOperationKind::kStat, path, 0});
  if (!status.ok()) return status;
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = objects_.find(path);
  if (found == objects_.end()) return absl::NotFoundError(absl::StrCat("object ", path, " not found"));
  return StoredObjectInfo{path, found->second.size(), checksums_.at(path)};
}

std::vector<std::string> SimObjectStore::AllPaths() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> paths;
  for (const auto& [path, bytes] : objects_) paths.push_back(path);
  return paths;
}

uint64_t SimObjectStore::TotalBytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t total = 0;
  for (const auto& [path, bytes] : objects_) total += bytes.size();
  return total;
}

std::optional<StoredObjectInfo> SimObjectStore::Inspect(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = objects_.find(path);
  if (found == objects_.end()) return std::nullopt;
  return StoredObjectInfo{path, found->second.size(), checksums_.at(path)};
}

std::optional<std::string> SimObjectStore::InspectBytes(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = objects_.find(path);
  if (found == objects_.end()) return std::nullopt;
  return found->second;
}

void SimObjectStore::PutDirect(const std::string& path, std::string bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  checksums_[path] = Crc32c(bytes);
  objects_[path] = std::move(bytes);
}

}  // namespace snapsim
