#include "snapshot/completed_checkpoint_store.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "backend/encoding.h"
#include "backend/mutation.h"

namespace snapsim {
namespace {

constexpr uint32_t kRecordVersion = 1;
constexpr char kRecordPrefix[] = "checkpointID-";

// The checkpoint id in a record's path "<ha directory>/checkpointID-%019d".
absl::StatusOr<int64_t> RecordId(absl::string_view path, absl::string_view ha_directory) {
  const std::string prefix = absl::StrCat(ha_directory, "/", kRecordPrefix);
  absl::string_view digits = path;
  int64_t id = 0;
  if (!absl::ConsumePrefix(&digits, prefix) || digits.size() != 19 ||
      digits.find_first_not_of("0123456789") != absl::string_view::npos || !absl::SimpleAtoi(digits, &id)) {
    return absl::DataLossError(absl::StrCat("field 'name': '", path, "' is not ", prefix,
                                            "<19-digit checkpoint id>"));
  }
  return id;
}

}  // namespace

std::string SerializeStoreRecord(const CompletedCheckpoint& checkpoint) {
  std::string bytes;
  ByteWriter writer(&bytes);
  writer.PutFixed32BigEndian(kRecordVersion);
  writer.PutLengthPrefixed(checkpoint.external_pointer);
  PutCheckpointProperties(writer, checkpoint.properties);
  writer.PutU8(checkpoint.restored_properties.has_value() ? 1 : 0);
  if (checkpoint.restored_properties.has_value()) PutCheckpointProperties(writer, *checkpoint.restored_properties);
  writer.PutFixed32BigEndian(Crc32c(bytes));
  return bytes;
}

absl::StatusOr<StoreRecord> ParseStoreRecord(absl::string_view bytes, const std::string& origin) {
  const std::string what = absl::StrCat("completed checkpoint store record ", origin);
  if (bytes.size() < 8) return absl::DataLossError(absl::StrCat(what, ": truncated (", bytes.size(), " bytes)"));
  const absl::string_view body = bytes.substr(0, bytes.size() - 4);
  ByteReader trailer(bytes.substr(bytes.size() - 4), what);
  if (*trailer.ReadFixed32BigEndian("checksum") != Crc32c(body)) {
    return absl::DataLossError(absl::StrCat(what, ": field 'checksum' at byte ", body.size(), ": mismatch"));
  }
  ByteReader reader(body, what);
  absl::StatusOr<uint32_t> version = reader.ReadFixed32BigEndian("version");
  if (!version.ok()) return version.status();
  if (*version != kRecordVersion) return reader.Corrupt("version", absl::StrCat("unknown version ", *version));
  StoreRecord record;
  absl::StatusOr<absl::string_view> pointer = reader.ReadLengthPrefixed("external_pointer");
  if (!pointer.ok()) return pointer.status();
  record.external_pointer = std::string(*pointer);
  absl::StatusOr<CheckpointProperties> properties = ReadCheckpointProperties(reader);
  if (!properties.ok()) return properties.status();
  record.properties = *properties;
  absl::StatusOr<uint8_t> has_restored = reader.ReadU8("has_restored_properties");
  if (!has_restored.ok()) return has_restored.status();
  if (*has_restored == 1) {
    absl::StatusOr<CheckpointProperties> restored = ReadCheckpointProperties(reader);
    if (!restored.ok()) return restored.status();
    record.restored_properties = *restored;
  } else if (*has_restored != 0) {
    return reader.Corrupt("has_restored_properties", "not a flag");
  }
  if (!reader.AtEnd()) return reader.Corrupt("end", "trailing bytes");
  return record;
}

CheckpointsCleaner::CheckpointsCleaner(IoExecutor* executor, CheckpointStorage* storage)
    : executor_(executor), storage_(storage), state_(std::make_shared<State>()) {}

void CheckpointsCleaner::CleanCheckpoint(std::shared_ptr<CompletedCheckpoint> checkpoint, bool discard,
                                         std::function<void()> post_cleanup) {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    ++state_->in_progress;
  }
  std::vector<std::string> paths;
  if (discard) {
    const std::set<std::string> referenced = ReferencedPaths(*checkpoint);
    paths.assign(referenced.begin(), referenced.end());
  }
  executor_->Execute(absl::StrCat("discard-checkpoint-", checkpoint->checkpoint_id),
                     [state = state_, storage = storage_, checkpoint, discard, post_cleanup] {
                       // Errors are only logged in Flink; the checker finds what was left behind.
                       if (discard) (void)DiscardCompletedCheckpoint(*storage, *checkpoint);
                       {
                         std::lock_guard<std::mutex> lock(state->mutex);
                         --state->in_progress;
                       }
                       if (post_cleanup) post_cleanup();
                     },
                     std::move(paths));
}

void CheckpointsCleaner::AddSubsumedCheckpoint(std::shared_ptr<CompletedCheckpoint> checkpoint) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  if (!state_->closed) state_->subsumed.push_back(std::move(checkpoint));
}

void CheckpointsCleaner::CleanSubsumedCheckpoints(int64_t up_to, const std::set<int64_t>& still_in_use,
                                                  std::function<void()> post_cleanup) {
  std::vector<std::shared_ptr<CompletedCheckpoint>> to_clean;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    auto& subsumed = state_->subsumed;
    for (auto it = subsumed.begin(); it != subsumed.end();) {
      if ((*it)->checkpoint_id < up_to && still_in_use.count((*it)->checkpoint_id) == 0) {
        to_clean.push_back(*it);
        it = subsumed.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (std::shared_ptr<CompletedCheckpoint>& checkpoint : to_clean) {
    const bool discard = checkpoint->properties.discard_subsumed;
    CleanCheckpoint(std::move(checkpoint), discard, post_cleanup);
  }
}

void CheckpointsCleaner::DiscardQueuedExcept(const std::set<std::string>& keep) {
  std::vector<std::shared_ptr<CompletedCheckpoint>> queued;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    queued.swap(state_->subsumed);
  }
  for (const std::shared_ptr<CompletedCheckpoint>& checkpoint : queued) {
    if (!checkpoint->properties.discard_subsumed) continue;
    std::vector<std::string> paths;
    for (const std::string& path : ReferencedPaths(*checkpoint)) {
      if (keep.count(path) == 0) paths.push_back(path);
    }
    if (paths.empty()) continue;
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      ++state_->in_progress;
    }
    executor_->Execute(absl::StrCat("discard-unused-files-of-checkpoint-", checkpoint->checkpoint_id),
                       [state = state_, storage = storage_, paths] {
                         for (const std::string& path : paths) (void)storage->Delete(path);
                         std::lock_guard<std::mutex> lock(state->mutex);
                         --state->in_progress;
                       },
                       paths);
  }
}

int CheckpointsCleaner::NumberOfCheckpointsToClean() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->in_progress;
}

std::vector<std::string> CheckpointsCleaner::QueuedSubsumedPaths() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::vector<std::string> paths;
  for (const auto& checkpoint : state_->subsumed) {
    const std::set<std::string> referenced = ReferencedPaths(*checkpoint);
    paths.insert(paths.end(), referenced.begin(), referenced.end());
  }
  return paths;
}

std::vector<int64_t> CheckpointsCleaner::QueuedSubsumedCheckpoints() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::vector<int64_t> ids;
  for (const auto& checkpoint : state_->subsumed) ids.push_back(checkpoint->checkpoint_id);
  return ids;
}

void CheckpointsCleaner::Close() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->closed = true;
  state_->subsumed.clear();
}

std::vector<std::shared_ptr<CompletedCheckpoint>> SubsumeCheckpoints(
    std::deque<std::shared_ptr<CompletedCheckpoint>>& checkpoints, int num_retain) {
  std::vector<std::shared_ptr<CompletedCheckpoint>> removed;
  if (checkpoints.empty() || static_cast<int>(checkpoints.size()) <= num_retain) return removed;
  const std::shared_ptr<CompletedCheckpoint> latest = checkpoints.back();
  std::shared_ptr<CompletedCheckpoint> latest_non_savepoint;
  for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
    if (!(*it)->properties.is_savepoint()) {
      latest_non_savepoint = *it;
      break;
    }
  }
  for (auto it = checkpoints.begin(); it != checkpoints.end() && static_cast<int>(checkpoints.size()) > num_retain;) {
    const std::shared_ptr<CompletedCheckpoint>& candidate = *it;
    const bool removable = candidate != latest && (SNAPSIM_MUTANT("savepoint-subsumes-latest") ||
                                                   candidate->properties.is_savepoint() ||
                                                   latest->properties.is_synchronous_savepoint() ||
                                                   candidate != latest_non_savepoint);
    if (removable) {
      removed.push_back(candidate);
      it = checkpoints.erase(it);
    } else {
      ++it;
    }
  }
  return removed;
}

SharedStateRegistry::Discarder StorageDiscarder(IoExecutor* executor, CheckpointStorage* storage) {
  return [executor, storage](std::vector<StreamStateHandle> all) {
    // Inline state has no object to delete, and a segment's physical file is its task manager's (file merging).
    std::vector<StreamStateHandle> handles;
    for (StreamStateHandle& handle : all) {
      if (handle.in_storage()) handles.push_back(std::move(handle));
    }
    if (handles.empty()) return;
    std::vector<std::string> paths;
    for (const StreamStateHandle& handle : handles) paths.push_back(handle.path);
    executor->Execute(
        "discard-shared-state",
        [storage, handles = std::move(handles)] {
          for (const StreamStateHandle& handle : handles) (void)storage->Delete(handle.path);
        },
        std::move(paths));
  };
}

CompletedCheckpointStore::CompletedCheckpointStore(int max_retained, CheckpointStorage* storage,
                                                   std::string ha_directory,
                                                   std::unique_ptr<SharedStateRegistry> registry)
    : max_retained_(std::max(1, max_retained)),
      storage_(storage),
      ha_directory_(std::move(ha_directory)),
      registry_(std::move(registry)) {}

std::string CompletedCheckpointStore::RecordPath(int64_t checkpoint_id) const {
  char name[40];
  std::snprintf(name, sizeof(name), "%s%019lld", kRecordPrefix, static_cast<long long>(checkpoint_id));
  return absl::StrCat(ha_directory_, "/", name);
}

absl::StatusOr<std::unique_ptr<CompletedCheckpointStore>> CompletedCheckpointStore::Recover(
    int max_retained, CheckpointStorage* storage, std::string ha_directory,
    std::unique_ptr<SharedStateRegistry> registry, RestoreMode mode) {
  auto store = std::make_unique<CompletedCheckpointStore>(max_retained, storage, ha_directory, std::move(registry));
  if (ha_directory.empty()) return store;
  absl::StatusOr<std::vector<std::string>> records = storage->List(absl::StrCat(ha_directory, "/", kRecordPrefix));
  if (!records.ok()) {
    return absl::Status(records.status().code(), absl::StrCat("recovering the completed checkpoint store from ",
                                                              ha_directory, ": ", records.status().message()));
  }
  // Zero-padded ids: the listing is in id order.
  for (const std::string& path : *records) {
    const std::string context = absl::StrCat("recovering the completed checkpoint store: record ", path, ": ");
    absl::StatusOr<int64_t> record_id = RecordId(path, ha_directory);
    if (!record_id.ok()) {
      return absl::Status(record_id.status().code(), context + std::string(record_id.status().message()));
    }
    absl::StatusOr<std::string> bytes = storage->Read(path);
    if (!bytes.ok()) return absl::Status(bytes.status().code(), context + std::string(bytes.status().message()));
    absl::StatusOr<StoreRecord> record = ParseStoreRecord(*bytes, path);
    if (!record.ok()) return record.status();
    absl::StatusOr<CompletedCheckpoint> loaded = LoadCheckpointMetadata(*storage, record->external_pointer);
    if (!loaded.ok()) return absl::Status(loaded.status().code(), context + std::string(loaded.status().message()));
    // The record's name is the id it is kept (and later deleted) under. Metadata of another checkpoint would be
    // recovered under that other id, twice if that one has its own record, while this record would never be
    // deleted: the store is inconsistent, so recovery stops here and deletes nothing.
    if (loaded->checkpoint_id != *record_id) {
      return absl::DataLossError(absl::StrCat(context, "field 'external_pointer': ", record->external_pointer,
                                              " holds the metadata of checkpoint ", loaded->checkpoint_id,
                                              ", not of checkpoint ", *record_id, " (the record's id)"));
    }
    auto checkpoint = std::make_shared<CompletedCheckpoint>(*std::move(loaded));
    checkpoint->properties = record->properties;
    checkpoint->restored_properties = record->restored_properties;
    if (!checkpoint->properties.unclaimed) {
      std::optional<SharingFilesStrategy> sharing;
      if (checkpoint->restored_properties.has_value()) {
        sharing = checkpoint->restored_properties->sharing_files_strategy();
      }
      // Only the snapshot the job was started from is owned per the job's restore mode; the job's own checkpoints
      // are always its own (Flink registers them with the job's mode too, so after a failover a NO_CLAIM or LEGACY
      // job never deletes their shared files: the limitation confirmed in apache/flink PR #19331).
      const RestoreMode owner = checkpoint->restored_properties.has_value() ? mode : RestoreMode::kClaim;
      absl::Status status = store->registry().RegisterAllAfterRestored(checkpoint->IncrementalHandles(),
                                                                        checkpoint->checkpoint_id, sharing, owner);
      if (!status.ok()) return absl::Status(status.code(), context + std::string(status.message()));
      checkpoint->shared_state_registered = true;
    }
    store->checkpoints_.push_back(std::move(checkpoint));
  }
  // The job's own files live under its checkpoint root ("<root>/ha" is where the records are); under NO_CLAIM or
  // LEGACY anything else belongs to the snapshot the job was started from.
  if (mode != RestoreMode::kClaim) {
    const std::string root = ha_directory.substr(0, ha_directory.rfind('/') + 1);
    store->registry().DisownPathsOutside(root);
  }
  return store;
}

absl::Status CompletedCheckpointStore::WriteRecord(const CompletedCheckpoint& checkpoint) {
  const std::string path = RecordPath(checkpoint.checkpoint_id);
  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = storage_->Create(path);
  if (!stream.ok()) return stream.status();
  if (absl::Status status = (*stream)->Write(SerializeStoreRecord(checkpoint)); !status.ok()) return status;
  return (*stream)->Finish().status();
}

std::optional<int64_t> CompletedCheckpointStore::FindLowest() const {
  for (const auto& checkpoint : checkpoints_) {
    if (!checkpoint->properties.is_savepoint()) return checkpoint->checkpoint_id;
  }
  return std::nullopt;
}

absl::StatusOr<std::shared_ptr<CompletedCheckpoint>> CompletedCheckpointStore::AddCheckpointAndSubsumeOldestOne(
    std::shared_ptr<CompletedCheckpoint> checkpoint, CheckpointsCleaner& cleaner, std::function<void()> post_cleanup) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!running_) return absl::FailedPreconditionError("the completed checkpoint store is shut down");
  }
  if (!ha_directory_.empty()) {
    if (absl::Status status = WriteRecord(*checkpoint); !status.ok()) {
      // The write's outcome may be unknown: stored, then reported failed. Flink's HA stores report that as a
      // PossibleInconsistentStateException and keep the checkpoint's data (FLINK-22494). This store reads back: a
      // record that is there was stored, and the checkpoint is added as if the write had succeeded; one that is not
      // there is a clean failure. Deleting the record instead (as before) could itself fail, leaving a record that
      // names a checkpoint whose data the failed completion then discarded: every later coordinator failed to
      // recover the store (recoverable swarm seed 569).
      const std::string path = RecordPath(checkpoint->checkpoint_id);
      absl::StatusOr<bool> stored = storage_->Exists(path);
      if (!stored.ok() || !*stored) {
        if (!stored.ok()) (void)storage_->Delete(path);  // still unknown: remove what may be there
        return absl::Status(status.code(), absl::StrCat("adding ", checkpoint->Describe(),
                                                        " to the completed checkpoint store: ", status.message()));
      }
    }
  }
  std::vector<std::shared_ptr<CompletedCheckpoint>> subsumed;
  std::optional<int64_t> lowest;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    checkpoints_.push_back(checkpoint);
    subsumed = SubsumeCheckpoints(checkpoints_, max_retained_);
    lowest = FindLowest();
  }
  std::shared_ptr<CompletedCheckpoint> highest_subsumed;
  for (std::shared_ptr<CompletedCheckpoint>& old : subsumed) {
    if (!ha_directory_.empty()) {
      // Flink's tryRemove: a subsumed checkpoint is discarded only once its record is gone. A record left behind
      // would name a deleted checkpoint, and every later coordinator would fail to recover the store (found by
      // the swarm, seeds 127 and 292). It stays retained; a later subsumption tries again.
      absl::Status removed = storage_->Delete(RecordPath(old->checkpoint_id));
      if (!removed.ok() && !absl::IsNotFound(removed)) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto position = std::find_if(checkpoints_.begin(), checkpoints_.end(), [&](const auto& retained) {
          return retained->checkpoint_id > old->checkpoint_id;
        });
        checkpoints_.insert(position, old);
        lowest = FindLowest();
        continue;
      }
    }
    if (highest_subsumed == nullptr || old->checkpoint_id > highest_subsumed->checkpoint_id) highest_subsumed = old;
    cleaner.AddSubsumedCheckpoint(old);
  }
  if (lowest.has_value()) {
    cleaner.CleanSubsumedCheckpoints(*lowest, registry_->UnregisterUnusedState(*lowest), post_cleanup);
  }
  return highest_subsumed;
}

void CompletedCheckpointStore::Shutdown(JobStatus status, CheckpointsCleaner& cleaner) {
  std::deque<std::shared_ptr<CompletedCheckpoint>> checkpoints;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!running_) return;
    running_ = false;
    checkpoints.swap(checkpoints_);
  }
  const bool terminal = IsGloballyTerminal(status);
  // What stays after the shutdown: every retained checkpoint on a leadership loss (for the next coordinator),
  // those the properties keep otherwise.
  std::set<std::string> keep;
  for (const std::shared_ptr<CompletedCheckpoint>& checkpoint : checkpoints) {
    if (terminal && checkpoint->properties.ShouldBeDiscardedOnShutdown(status)) continue;
    const std::set<std::string> referenced = ReferencedPaths(*checkpoint);
    keep.insert(referenced.begin(), referenced.end());
  }
  if (terminal) {
    registry_->Close();
    int64_t lowest_retained = std::numeric_limits<int64_t>::max();
    for (const std::shared_ptr<CompletedCheckpoint>& checkpoint : checkpoints) {
      const bool discard = checkpoint->properties.ShouldBeDiscardedOnShutdown(status);
      if (!discard) lowest_retained = std::min(lowest_retained, checkpoint->checkpoint_id);
      if (!ha_directory_.empty()) (void)storage_->Delete(RecordPath(checkpoint->checkpoint_id));
      cleaner.CleanCheckpoint(checkpoint, discard, nullptr);
      if (discard && checkpoint->shared_state_registered) {
        registry_->UnregisterDiscardedCheckpoint(checkpoint->checkpoint_id);
      }
    }
    cleaner.CleanSubsumedCheckpoints(lowest_retained, registry_->UnregisterUnusedState(lowest_retained), nullptr);
  }
  // A subsumed checkpoint the cleaner still keeps (its files partly in use) has no record any more: no later
  // coordinator can discard it, so its files nothing kept references go now (swarm seeds 1173 at a cancel, 1640 at a
  // suspend).
  cleaner.DiscardQueuedExcept(keep);
}

std::shared_ptr<CompletedCheckpoint> CompletedCheckpointStore::Latest() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return checkpoints_.empty() ? nullptr : checkpoints_.back();
}

int64_t CompletedCheckpointStore::LatestCheckpointId() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return checkpoints_.empty() ? 0 : checkpoints_.back()->checkpoint_id;
}

std::vector<std::shared_ptr<CompletedCheckpoint>> CompletedCheckpointStore::All() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {checkpoints_.begin(), checkpoints_.end()};
}

int64_t InMemoryCheckpointIdCounter::GetAndIncrement() {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_++;
}

int64_t InMemoryCheckpointIdCounter::Get() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_;
}

void InMemoryCheckpointIdCounter::SetAtLeast(int64_t next) {
  std::lock_guard<std::mutex> lock(mutex_);
  next_ = std::max(next_, next);
}

}  // namespace snapsim
