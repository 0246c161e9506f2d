#include "sim/sim_object_store.h"

#include <atomic>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backend/encoding.h"

namespace snapsim {
namespace {

class SimOutputStream : public CheckpointOutputStream {
 public:
  SimOutputStream(SimObjectStore* store, std::string path) : store_(store), path_(std::move(path)) {}

  absl::Status Write(absl::string_view data) override {
    if (cancelled_) return absl::CancelledError(absl::StrCat("stream to ", path_, " was cancelled"));
    if (finished_) return absl::FailedPreconditionError(absl::StrCat("stream to ", path_, " is finished"));
    absl::Status status = store_->Begin(ObjectStoreOperation{ObjectStoreOperationKind::kWrite, path_, data.size()});
    if (!status.ok()) return status;
    if (cancelled_) return absl::CancelledError(absl::StrCat("stream to ", path_, " was cancelled"));
    buffer_.append(data.data(), data.size());
    return absl::OkStatus();
  }

  absl::StatusOr<StoredObjectInfo> Finish() override {
    if (cancelled_) return absl::CancelledError(absl::StrCat("stream to ", path_, " was cancelled"));
    if (finished_) return absl::FailedPreconditionError(absl::StrCat("stream to ", path_, " is finished"));
    finished_ = true;
    absl::Status status =
        store_->Begin(ObjectStoreOperation{ObjectStoreOperationKind::kFinish, path_, buffer_.size()});
    if (!status.ok()) return status;
    if (cancelled_) return absl::CancelledError(absl::StrCat("stream to ", path_, " was cancelled"));
    return store_->Commit(path_, std::move(buffer_));
  }

  void Cancel() override { cancelled_ = true; }

 private:
  SimObjectStore* store_;
  const std::string path_;
  std::string buffer_;
  bool finished_ = false;
  std::atomic<bool> cancelled_{false};  // Cancel may come from another activity
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

absl::Status SimObjectStore::Begin(const ObjectStoreOperation& operation) {
  Delay(operation.size);
  ObjectStoreFaultHook hook;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    hook = fault_hook_;
  }
  absl::Status status = hook ? hook(operation) : absl::OkStatus();
  scheduler_->RecordTrace("object-store",
                          absl::StrCat(ObjectStoreOperationKindName(operation.kind), " ", operation.path, " ",
                                       operation.size, status.ok() ? "" : " FAILED"));
  return status;
}

absl::StatusOr<StoredObjectInfo> SimObjectStore::Commit(const std::string& path, std::string bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (objects_.count(path) > 0) return absl::AlreadyExistsError(absl::StrCat("object ", path, " exists"));
  StoredObjectInfo info{path, bytes.size(), Crc32c(bytes)};
  checksums_[path] = info.checksum;
  objects_[path] = std::move(bytes);
  return info;
}

absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> SimObjectStore::Create(const std::string& path) {
  absl::Status status = Begin(ObjectStoreOperation{ObjectStoreOperationKind::kCreate, path, 0});
  if (!status.ok()) return status;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (objects_.count(path) > 0) return absl::AlreadyExistsError(absl::StrCat("object ", path, " exists"));
  }
  return std::unique_ptr<CheckpointOutputStream>(new SimOutputStream(this, path));
}

absl::StatusOr<std::string> SimObjectStore::Read(const std::string& path) {
  uint64_t size = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = objects_.find(path);
    if (found != objects_.end()) size = found->second.size();
  }
  absl::Status status = Begin(ObjectStoreOperation{ObjectStoreOperationKind::kRead, path, size});
  if (!status.ok()) return status;
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = objects_.find(path);
  if (found == objects_.end()) return absl::NotFoundError(absl::StrCat("object ", path, " not found"));
  return found->second;
}

absl::Status SimObjectStore::Delete(const std::string& path) {
  absl::Status status = Begin(ObjectStoreOperation{ObjectStoreOperationKind::kDelete, path, 0});
  if (!status.ok()) return status;
  std::lock_guard<std::mutex> lock(mutex_);
  if (objects_.erase(path) == 0) return absl::NotFoundError(absl::StrCat("object ", path, " not found"));
  checksums_.erase(path);
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

}  // namespace snapsim
