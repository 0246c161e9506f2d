#include "snapshot/shared_state_registry.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backend/mutation.h"

namespace snapsim {

namespace {

// The registry key of a shared file: its physical path (FLINK-29913).
std::string KeyOf(const HandleAndLocalPath& file) {
  return SNAPSIM_MUTANT("registry-key-local-name") ? file.local_path : file.handle.path;
}

}  // namespace

SharedStateRegistry::SharedStateRegistry(Discarder discarder) : discarder_(std::move(discarder)) {}

absl::Status SharedStateRegistry::CheckRegistrable(const std::string& key, const StreamStateHandle& handle,
                                                   int64_t checkpoint_id) const {
  if (!open_) return absl::FailedPreconditionError("Attempt to register state to closed SharedStateRegistry.");
  auto found = entries_.find(key);
  if (found == entries_.end()) {
    if (handle.is_placeholder()) {
      return absl::FailedPreconditionError(
          absl::StrCat("Attempt to reference unknown state: ", handle.path, " (checkpoint ", checkpoint_id, ")"));
    }
    return absl::OkStatus();
  }
  if (handle.is_placeholder() || handle == found->second.handle) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "StateObjects underlying same key should be equal: ", handle.path, " registered with size ",
      found->second.handle.size_bytes, " by checkpoint ", found->second.created_by, ", now size ",
      handle.size_bytes, " by checkpoint ", checkpoint_id));
}

StreamStateHandle SharedStateRegistry::RegisterLocked(const std::string& key, const StreamStateHandle& handle,
                                                      int64_t checkpoint_id) {
  auto found = entries_.find(key);
  if (found == entries_.end()) {
    entries_.emplace(key, Entry{handle, checkpoint_id, {checkpoint_id}});
    return handle;
  }
  found->second.users.insert(checkpoint_id);
  return found->second.handle;
}

absl::StatusOr<StreamStateHandle> SharedStateRegistry::RegisterReference(const StreamStateHandle& handle,
                                                                         int64_t checkpoint_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (absl::Status status = CheckRegistrable(handle.path, handle, checkpoint_id); !status.ok()) return status;
  return RegisterLocked(handle.path, handle, checkpoint_id);
}

absl::Status SharedStateRegistry::RegisterAll(IncrementalRemoteKeyedStateHandle* handle, int64_t checkpoint_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Within one handle, a path may appear once only.
  std::set<std::string> seen;
  for (const HandleAndLocalPath& file : handle->shared_state) {
    if (!seen.insert(file.handle.path).second) {
      return absl::FailedPreconditionError(absl::StrCat("shared file ", file.handle.path, " appears twice in the ",
                                                        "handle of backend ", handle->backend_uid, " for checkpoint ",
                                                        checkpoint_id));
    }
    if (absl::Status status = CheckRegistrable(KeyOf(file), file.handle, checkpoint_id); !status.ok()) return status;
  }
  for (HandleAndLocalPath& file : handle->shared_state) file.handle = RegisterLocked(KeyOf(file), file.handle, checkpoint_id);
  return absl::OkStatus();
}

absl::Status SharedStateRegistry::RegisterAllAfterRestored(std::vector<IncrementalRemoteKeyedStateHandle*> handles,
                                                           int64_t checkpoint_id,
                                                           std::optional<SharingFilesStrategy> restored_sharing,
                                                           RestoreMode mode) {
  for (IncrementalRemoteKeyedStateHandle* handle : handles) {
    if (absl::Status status = RegisterAll(handle, checkpoint_id); !status.ok()) return status;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  restored_sharing_strategies_[checkpoint_id] = restored_sharing;
  if (mode != RestoreMode::kClaim) {
    highest_not_claimed_checkpoint_id_ = std::max(highest_not_claimed_checkpoint_id_, checkpoint_id);
  }
  return absl::OkStatus();
}

void SharedStateRegistry::DisownPathsOutside(const std::string& own_prefix) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [path, entry] : entries_) {
    if (path.compare(0, own_prefix.size(), own_prefix) != 0) entry.not_owned = true;
  }
}

std::set<int64_t> SharedStateRegistry::UnregisterUnusedState(int64_t lowest_checkpoint_id) {
  std::set<int64_t> still_in_use;
  std::vector<StreamStateHandle> to_discard;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    last_lowest_ = std::max(last_lowest_, lowest_checkpoint_id);
    // A pending checkpoint may still reference what its base uses (HoldForPending).
    int64_t keep_from = lowest_checkpoint_id;
    for (const auto& [pending, floor] : holds_) keep_from = std::min(keep_from, floor);
    for (auto it = entries_.begin(); it != entries_.end();) {
      Entry& entry = it->second;
      // Users older than the lowest retained checkpoint are subsumed.
      entry.users.erase(entry.users.begin(), entry.users.lower_bound(keep_from));
      if (entry.users.empty()) {
        if (OwnedLocked(entry)) {
          to_discard.push_back(entry.handle);
        }
        it = entries_.erase(it);
        continue;
      }
      // A native savepoint restored in CLAIM mode keeps its "shared" files in its own directory: it must not be
      // discarded while any of them is in use (FLINK-28597 case b).
      auto restored = restored_sharing_strategies_.find(entry.created_by);
      if (restored != restored_sharing_strategies_.end() &&
          restored->second == std::optional<SharingFilesStrategy>(SharingFilesStrategy::kNoSharing)) {
        still_in_use.insert(entry.created_by);
      }
      ++it;
    }
  }
  if (!to_discard.empty()) discarder_(std::move(to_discard));
  return still_in_use;
}

void SharedStateRegistry::HoldForPending(int64_t pending_id, int64_t floor) {
  std::lock_guard<std::mutex> lock(mutex_);
  holds_[pending_id] = floor;
}

void SharedStateRegistry::ReleasePending(int64_t pending_id) {
  int64_t lowest = -1;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (holds_.erase(pending_id) == 0 || last_lowest_ < 0) return;
    lowest = last_lowest_;
  }
  // What it reports (restored savepoints still in use) the store learns at its next subsumption anyway.
  (void)UnregisterUnusedState(lowest);
}

std::vector<std::string> SharedStateRegistry::DeferredDeletions(const std::set<int64_t>& retained) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> paths;
  for (const auto& [path, entry] : entries_) {
    if (!OwnedLocked(entry)) continue;
    bool used = false;
    for (int64_t user : entry.users) used |= retained.count(user) > 0;
    if (!used) paths.push_back(path);
  }
  return paths;
}

void SharedStateRegistry::UnregisterAbortedCheckpoint(int64_t checkpoint_id) {
  Unregister(checkpoint_id, SNAPSIM_MUTANT("abort-deletes-reused"));
}

void SharedStateRegistry::UnregisterDiscardedCheckpoint(int64_t checkpoint_id) { Unregister(checkpoint_id, false); }

void SharedStateRegistry::Unregister(int64_t checkpoint_id, bool even_if_used) {
  std::vector<StreamStateHandle> to_discard;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      Entry& entry = it->second;
      if (entry.users.erase(checkpoint_id) > 0 && (entry.users.empty() || even_if_used)) {
        if (OwnedLocked(entry)) {
          to_discard.push_back(entry.handle);
        }
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (!to_discard.empty()) discarder_(std::move(to_discard));
}

void SharedStateRegistry::Close() {
  std::lock_guard<std::mutex> lock(mutex_);
  open_ = false;
}

bool SharedStateRegistry::Contains(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.count(path) > 0;
}

size_t SharedStateRegistry::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

int64_t SharedStateRegistry::highest_not_claimed_checkpoint_id() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return highest_not_claimed_checkpoint_id_;
}

std::map<std::string, std::pair<int64_t, int64_t>> SharedStateRegistry::Entries() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::string, std::pair<int64_t, int64_t>> result;
  for (const auto& [path, entry] : entries_) result[path] = {entry.created_by, entry.last_used()};
  return result;
}

}  // namespace snapsim
