#include "snapshot/file_merging.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backend/encoding.h"

namespace snapsim {
namespace {

// Flink's uriEscape for managed directory names: URI-reserved characters become '-'.
std::string UriEscape(absl::string_view name) {
  std::string escaped(name);
  for (char& c : escaped) {
    if (absl::string_view(";/?:@&=+$,[]").find(c) != absl::string_view::npos) c = '-';
  }
  return escaped;
}

// A managed directory at `path`. A directory of an object store exists while objects are under it: this manager
// "created" it (owns and tracks it, Flink's createManagedDirectory returning true) when nothing was there.
absl::StatusOr<std::pair<bool, std::string>> ProbeDirectory(CheckpointStorage* storage, std::string path) {
  absl::StatusOr<std::vector<std::string>> existing = storage->List(path + "/");
  if (!existing.ok()) return existing.status();
  return std::make_pair(existing->empty(), std::move(path));
}

bool IsUnder(const std::string& path, const std::string& directory) {
  return !directory.empty() && absl::StartsWith(path, directory + "/");
}

}  // namespace

std::string SubtaskKey::ManagedDirName() const {
  std::string name = absl::StrCat("job_", job_id, "_op_", operator_id, "_", subtask_index, "_", parallelism);
  for (char& c : name) {
    const bool kept = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!kept) c = '_';
  }
  return name;
}

absl::StatusOr<std::string> ReadSegment(CheckpointStorage& storage, const SegmentHandle& segment,
                                        absl::string_view what) {
  return ReadStreamStateHandle(storage, segment.ToStreamStateHandle(), what);
}

// ---------------------------------------------------------------------------------------------------------------
// The output stream.

absl::Status FileMergingOutputStream::Write(absl::string_view data) {
  if (cancelled_) return absl::CancelledError("file-merging stream was cancelled");
  if (closed_) return absl::FailedPreconditionError("file-merging stream is closed");
  buffer_.append(data.data(), data.size());
  return absl::OkStatus();
}

void FileMergingOutputStream::Cancel() { cancelled_ = true; }

absl::StatusOr<std::optional<SegmentHandle>> FileMergingOutputStream::CloseAndGetHandle() {
  if (cancelled_) return absl::CancelledError("file-merging stream was cancelled");
  if (closed_) return absl::FailedPreconditionError("file-merging stream is closed");
  closed_ = true;
  if (buffer_.empty()) return std::optional<SegmentHandle>();
  absl::StatusOr<std::shared_ptr<PhysicalFile>> file = manager_->TakePhysicalFile(key_, checkpoint_id_, scope_);
  if (!file.ok()) return file.status();
  uint64_t offset;
  {
    std::lock_guard<std::mutex> lock(manager_->mutex_);  // space control reads sizes from other activities
    offset = (*file)->size_;
  }
  absl::Status status = (*file)->stream_->Write(buffer_);
  // Flink syncs the physical file after every segment (shouldSyncAfterClosingLogicalFile): the segment is durable
  // before its handle exists.
  if (status.ok()) status = (*file)->stream_->Sync().status();
  if (status.ok() && cancelled_) status = absl::CancelledError("file-merging stream was cancelled");
  if (!status.ok()) {
    // The file's tail may hold part of this segment: no later segment goes after it.
    manager_->AbandonPhysicalFile(*file);
    return status;
  }
  absl::StatusOr<SegmentHandle> segment =
      manager_->AddSegment(key_, checkpoint_id_, *file, offset, buffer_.size(), Crc32c(buffer_), scope_);
  buffer_.clear();
  manager_->ReturnPhysicalFile(*file);
  if (!segment.ok()) return segment.status();
  return std::optional<SegmentHandle>(*std::move(segment));
}

// ---------------------------------------------------------------------------------------------------------------
// The manager.

FileMergingSnapshotManager::FileMergingSnapshotManager(std::string id, FileMergingOptions options, Runtime* runtime)
    : id_(std::move(id)),
      options_(options),
      max_space_amplification_(options.max_space_amplification < 1 ? std::numeric_limits<double>::infinity()
                                                                     : options.max_space_amplification),
      runtime_(runtime) {}

FileMergingSnapshotManager::~FileMergingSnapshotManager() { Close(); }

absl::Status FileMergingSnapshotManager::InitFileSystem(CheckpointStorage* storage, std::string shared_state_dir,
                                                        std::string task_owned_state_dir) {
  std::string exclusive_path;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (storage_ != nullptr) {
      if (storage_ == storage && shared_state_dir_ == shared_state_dir &&
          task_owned_state_dir_ == task_owned_state_dir) {
        return absl::OkStatus();
      }
      return absl::InvalidArgumentError(absl::StrCat("file merging manager ", id_,
                                                     ": initialised again with other directories (", shared_state_dir,
                                                     ", ", task_owned_state_dir, ")"));
    }
    storage_ = storage;
    shared_state_dir_ = std::move(shared_state_dir);
    task_owned_state_dir_ = std::move(task_owned_state_dir);
    exclusive_path = absl::StrCat(task_owned_state_dir_, "/", UriEscape(id_));
  }
  absl::StatusOr<std::pair<bool, std::string>> probed = ProbeDirectory(storage, exclusive_path);
  if (!probed.ok()) return probed.status();
  std::lock_guard<std::mutex> lock(mutex_);
  exclusive_directory_ = ManagedDirectory{probed->second, probed->first, 0, probed->first};
  return absl::OkStatus();
}

absl::Status FileMergingSnapshotManager::RegisterSubtaskForSharedStates(const SubtaskKey& key) {
  CheckpointStorage* storage;
  std::string path;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (storage_ == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat("file merging manager ", id_, ": no file system yet"));
    }
    if (shared_directories_.count(key) > 0) return absl::OkStatus();
    storage = storage_;
    path = absl::StrCat(shared_state_dir_, "/", UriEscape(key.ManagedDirName()));
  }
  absl::StatusOr<std::pair<bool, std::string>> probed = ProbeDirectory(storage, path);
  if (!probed.ok()) return probed.status();
  std::lock_guard<std::mutex> lock(mutex_);
  shared_directories_.emplace(key, ManagedDirectory{probed->second, probed->first, 0, probed->first});
  return absl::OkStatus();
}

void FileMergingSnapshotManager::UnregisterSubtask(const SubtaskKey& key) {
  std::vector<std::shared_ptr<PhysicalFile>> release;
  std::optional<std::string> cleanup;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [checkpoint, pool] : pools_) ClosePoolQueuesLocked(checkpoint, key, &release);
    auto found = shared_directories_.find(key);
    if (found != shared_directories_.end()) {
      if (found->second.tracking && found->second.ongoing == 0) cleanup = found->second.path;
      shared_directories_.erase(found);
    }
  }
  Release(release);
  if (cleanup.has_value()) DeleteDirectory(*cleanup);
}

std::string FileMergingSnapshotManager::managed_directory(const SubtaskKey& key, StateScope scope) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (scope == StateScope::kExclusive) return exclusive_directory_.has_value() ? exclusive_directory_->path : "";
  auto found = shared_directories_.find(key);
  return found == shared_directories_.end() ? "" : found->second.path;
}

std::unique_ptr<FileMergingOutputStream> FileMergingSnapshotManager::CreateStream(const SubtaskKey& key,
                                                                                  int64_t checkpoint_id,
                                                                                  StateScope scope) {
  return std::unique_ptr<FileMergingOutputStream>(new FileMergingOutputStream(this, key, checkpoint_id, scope));
}

FileMergingSnapshotManager::Queue& FileMergingSnapshotManager::QueueLocked(const std::optional<SubtaskKey>& key,
                                                                         int64_t pool_checkpoint) {
  Pool& pool = pools_[pool_checkpoint];
  return key.has_value() ? pool.shared[*key] : pool.exclusive;
}

absl::StatusOr<std::shared_ptr<PhysicalFile>> FileMergingSnapshotManager::TakePhysicalFile(const SubtaskKey& key,
                                                                                          int64_t checkpoint_id,
                                                                                          StateScope scope) {
  const std::optional<SubtaskKey> queue_key =
      scope == StateScope::kShared ? std::optional<SubtaskKey>(key) : std::nullopt;
  const int64_t pool_checkpoint = PoolCheckpoint(checkpoint_id);
  while (true) {
    std::shared_ptr<Signal> wait;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      Queue& queue = QueueLocked(queue_key, pool_checkpoint);
      while (!queue.files.empty()) {
        std::shared_ptr<PhysicalFile> file = queue.files.front();
        queue.files.pop_front();
        if (file->closed_) continue;
        ++queue.out;
        return file;
      }
      // Non-blocking: a new file whenever none is free. Blocking: one file per queue; wait while it is out.
      if (options_.pool_blocking && queue.out > 0) {
        wait = runtime_->NewSignal();
        queue.waiters.push_back(wait);
      } else {
        ++queue.out;  // the file about to be created
      }
    }
    if (wait == nullptr) {
      absl::StatusOr<std::shared_ptr<PhysicalFile>> file = CreatePhysicalFile(key, scope, pool_checkpoint);
      if (!file.ok()) {
        std::lock_guard<std::mutex> lock(mutex_);
        Queue& queue = QueueLocked(queue_key, pool_checkpoint);
        --queue.out;
        if (!queue.waiters.empty()) {
          queue.waiters.front()->Notify();
          queue.waiters.pop_front();
        }
      }
      return file;
    }
    wait->Wait();
  }
}

absl::StatusOr<std::shared_ptr<PhysicalFile>> FileMergingSnapshotManager::CreatePhysicalFile(
    const SubtaskKey& key, StateScope scope, int64_t pool_checkpoint) {
  CheckpointStorage* storage;
  std::string directory;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    storage = storage_;
    if (scope == StateScope::kExclusive) {
      if (exclusive_directory_.has_value()) directory = exclusive_directory_->path;
    } else if (auto found = shared_directories_.find(key); found != shared_directories_.end()) {
      directory = found->second.path;
    }
  }
  if (storage == nullptr || directory.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("file merging manager ", id_, ": no managed ",
                                                      scope == StateScope::kShared ? "shared" : "exclusive",
                                                      " directory for ", key.ManagedDirName()));
  }
  const std::string path = absl::StrCat(directory, "/", runtime_->NewUniqueId());
  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = storage->Create(path);
  if (!stream.ok()) return stream.status();
  auto file = std::make_shared<PhysicalFile>();
  file->path_ = path;
  file->scope_ = scope;
  file->owned_ = true;
  file->stream_ = std::shared_ptr<CheckpointOutputStream>(std::move(*stream));
  if (scope == StateScope::kShared) file->pool_key_ = key;
  file->pool_checkpoint_ = pool_checkpoint;
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.physical_files_created;
  ++stats_.physical_file_count;
  return file;
}

absl::StatusOr<SegmentHandle> FileMergingSnapshotManager::AddSegment(const SubtaskKey& key, int64_t checkpoint_id,
                                                                     const std::shared_ptr<PhysicalFile>& file,
                                                                     uint64_t offset, uint64_t length,
                                                                     uint32_t checksum, StateScope scope) {
  LogicalFile logical;
  logical.id = runtime_->NewUniqueId();
  logical.physical = file;
  logical.offset = offset;
  logical.length = length;
  logical.subtask = key;
  logical.last_used_checkpoint = checkpoint_id;
  std::lock_guard<std::mutex> lock(mutex_);
  file->size_ = offset + length;
  file->data_size_ += length;
  ++file->reference_count_;
  if (file->owned_) {
    stats_.physical_file_size += length;
    ++stats_.logical_file_count;
    stats_.logical_file_size += length;
  }
  ++stats_.segments_written;
  uploaded_states_[checkpoint_id].insert(logical.id);
  SegmentHandle segment{file->path_, offset, length, scope, logical.id, checksum};
  known_logical_files_.emplace(logical.id, std::move(logical));
  return segment;
}

void FileMergingSnapshotManager::ReleaseFromQueueLocked(const PhysicalFile& file) {
  auto pool = pools_.find(file.pool_checkpoint_);
  if (pool == pools_.end()) return;
  Queue* queue = nullptr;
  if (file.pool_key_.has_value()) {
    auto found = pool->second.shared.find(*file.pool_key_);
    if (found != pool->second.shared.end()) queue = &found->second;
  } else {
    queue = &pool->second.exclusive;
  }
  if (queue == nullptr) return;
  if (queue->out > 0) --queue->out;
  if (!queue->waiters.empty()) {
    queue->waiters.front()->Notify();
    queue->waiters.pop_front();
  }
}

void FileMergingSnapshotManager::ReturnPhysicalFile(const std::shared_ptr<PhysicalFile>& file) {
  std::vector<std::shared_ptr<PhysicalFile>> release;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto pool = pools_.find(file->pool_checkpoint_);
    const bool pool_open = pool != pools_.end();
    if (pool_open && !file->closed_ && file->size_ < options_.max_file_size) {
      Queue& queue = QueueLocked(file->pool_key_, file->pool_checkpoint_);
      queue.files.push_back(file);
      ReleaseFromQueueLocked(*file);
    } else {
      ReleaseFromQueueLocked(*file);
      CloseLocked(file, &release);
    }
  }
  Release(release);
}

void FileMergingSnapshotManager::AbandonPhysicalFile(const std::shared_ptr<PhysicalFile>& file) {
  std::vector<std::shared_ptr<PhysicalFile>> release;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ReleaseFromQueueLocked(*file);
    file->could_reuse_ = false;
    file->abandoned_ = true;
    CloseLocked(file, &release);
  }
  Release(release);
}

void FileMergingSnapshotManager::CloseLocked(const std::shared_ptr<PhysicalFile>& file,
                                             std::vector<std::shared_ptr<PhysicalFile>>* release) {
  if (file->closed_) return;
  file->closed_ = true;
  release->push_back(file);  // its stream is finished outside the lock, and it is deleted if nothing uses it
}

void FileMergingSnapshotManager::DecReferenceLocked(const std::shared_ptr<PhysicalFile>& file,
                                                    std::vector<std::shared_ptr<PhysicalFile>>* release) {
  if (file->reference_count_ > 0) --file->reference_count_;
  if (file->closed_ && file->reference_count_ == 0 && !file->deleted_) release->push_back(file);
}

void FileMergingSnapshotManager::Release(const std::vector<std::shared_ptr<PhysicalFile>>& files) {
  for (const std::shared_ptr<PhysicalFile>& file : files) {
    std::shared_ptr<CheckpointOutputStream> stream;
    CheckpointStorage* storage;
    uint64_t size;
    bool abandoned;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stream = std::move(file->stream_);
      file->stream_.reset();
      storage = storage_;
      size = file->size_;
      abandoned = file->abandoned_;
    }
    // Closing a physical file: what it holds is durable already (a sync after every segment); finishing makes it
    // an ordinary complete object. One that never got a segment is dropped, and one whose last write failed keeps
    // only what its syncs made durable (a cancelled stream's synced bytes stay).
    if (stream != nullptr) {
      if (size == 0 || abandoned) {
        stream->Cancel();
      } else {
        (void)stream->Finish();
      }
    }
    bool remove = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (file->closed_ && file->reference_count_ == 0 && !file->deleted_) {
        file->deleted_ = true;  // also when not owned: this manager is done with it (Flink's deleteIfNecessary)
        remove = file->owned_ && size > 0;
        if (file->owned_ && stats_.physical_file_count > 0) --stats_.physical_file_count;
        if (file->owned_) stats_.physical_file_size -= std::min(stats_.physical_file_size, file->size_);
      }
    }
    if (!remove || storage == nullptr) continue;
    absl::Status deleted = storage->Delete(file->path_);
    std::lock_guard<std::mutex> lock(mutex_);
    if (deleted.ok() || absl::IsNotFound(deleted)) {
      ++stats_.physical_files_deleted;
    } else {
      ++stats_.physical_file_delete_failures;  // Flink logs and goes on: the job manager's cleanup may find it
    }
  }
}

void FileMergingSnapshotManager::ClosePoolQueuesLocked(int64_t pool_checkpoint,
                                                      const std::optional<SubtaskKey>& only_shared_of,
                                                      std::vector<std::shared_ptr<PhysicalFile>>* release) {
  auto pool = pools_.find(pool_checkpoint);
  if (pool == pools_.end()) return;
  auto close_queue = [&](Queue& queue) {
    for (const std::shared_ptr<PhysicalFile>& file : queue.files) CloseLocked(file, release);
    queue.files.clear();
  };
  if (only_shared_of.has_value()) {
    auto found = pool->second.shared.find(*only_shared_of);
    if (found != pool->second.shared.end()) {
      close_queue(found->second);
      if (found->second.out == 0 && found->second.waiters.empty()) pool->second.shared.erase(found);
    }
  } else {
    for (auto& [key, queue] : pool->second.shared) close_queue(queue);
  }
  // Flink's PhysicalFilePool#close(key) closes the exclusive queue as well.
  close_queue(pool->second.exclusive);
}

void FileMergingSnapshotManager::HandOverDirectoriesLocked(const SubtaskKey& key) {
  if (auto found = shared_directories_.find(key); found != shared_directories_.end()) found->second.tracking = false;
  if (exclusive_directory_.has_value()) exclusive_directory_->tracking = false;
}

void FileMergingSnapshotManager::NotifyCheckpointStart(const SubtaskKey& key, int64_t /*checkpoint_id*/) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto found = shared_directories_.find(key); found != shared_directories_.end() && found->second.tracking) {
    ++found->second.ongoing;
  }
  if (exclusive_directory_.has_value() && exclusive_directory_->tracking) ++exclusive_directory_->ongoing;
}

void FileMergingSnapshotManager::NotifyCheckpointComplete(const SubtaskKey& key, int64_t checkpoint_id) {
  std::vector<std::shared_ptr<PhysicalFile>> release;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    HandOverDirectoriesLocked(key);
    // Within-checkpoint merging: the checkpoint's files of this subtask are done (WithinCheckpoint...Manager).
    if (!options_.across_checkpoint_boundary) ClosePoolQueuesLocked(checkpoint_id, key, &release);
  }
  Release(release);
}

void FileMergingSnapshotManager::NotifyCheckpointAborted(const SubtaskKey& key, int64_t checkpoint_id) {
  std::vector<std::shared_ptr<PhysicalFile>> release;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto found = shared_directories_.find(key); found != shared_directories_.end() && found->second.tracking &&
                                                    found->second.ongoing > 0) {
      --found->second.ongoing;
    }
    if (exclusive_directory_.has_value() && exclusive_directory_->tracking && exclusive_directory_->ongoing > 0) {
      --exclusive_directory_->ongoing;
    }
    if (!options_.across_checkpoint_boundary) ClosePoolQueuesLocked(checkpoint_id, key, &release);
    auto uploaded = uploaded_states_.find(checkpoint_id);
    // As Flink: a subtask that wrote nothing for the checkpoint releases nothing, and is not counted as notified.
    if (uploaded != uploaded_states_.end()) {
      if (DiscardLogicalFilesLocked(key, checkpoint_id, &uploaded->second, &release)) {
        uploaded_states_.erase(uploaded);
      }
      NotifyReleaseCheckpointLocked(key, checkpoint_id, &release);
    }
  }
  Release(release);
}

void FileMergingSnapshotManager::NotifyCheckpointSubsumed(const SubtaskKey& key, int64_t checkpoint_id) {
  std::vector<std::shared_ptr<PhysicalFile>> release;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    HandOverDirectoriesLocked(key);
    for (auto it = uploaded_states_.begin(); it != uploaded_states_.end() && it->first <= checkpoint_id;) {
      // Flink passes the subsumed id, not the entry's: a file reused by a later checkpoint outlives its writer's.
      if (DiscardLogicalFilesLocked(key, checkpoint_id, &it->second, &release)) {
        it = uploaded_states_.erase(it);
      } else {
        ++it;
      }
    }
    NotifyReleaseCheckpointLocked(key, checkpoint_id, &release);
  }
  Release(release);
}

bool FileMergingSnapshotManager::DiscardLogicalFilesLocked(const SubtaskKey& key, int64_t checkpoint_id,
                                                          std::set<std::string>* ids,
                                                          std::vector<std::shared_ptr<PhysicalFile>>* release) {
  for (auto it = ids->begin(); it != ids->end();) {
    auto known = known_logical_files_.find(*it);
    if (known == known_logical_files_.end()) {
      it = ids->erase(it);
      continue;
    }
    LogicalFile& logical = known->second;
    if (!(logical.subtask == key) || logical.last_used_checkpoint > checkpoint_id) {
      ++it;
      continue;
    }
    if (!logical.discarded) {
      logical.discarded = true;
      ++stats_.logical_files_discarded;
      PhysicalFile& physical = *logical.physical;
      physical.data_size_ -= std::min(physical.data_size_, logical.length);
      if (physical.owned_) {
        if (stats_.logical_file_count > 0) --stats_.logical_file_count;
        stats_.logical_file_size -= std::min(stats_.logical_file_size, logical.length);
      }
      DecReferenceLocked(logical.physical, release);
    }
    known_logical_files_.erase(known);
    it = ids->erase(it);
  }
  if (!ids->empty()) return false;
  TryDiscardCheckpointLocked(checkpoint_id, release);
  return true;
}

void FileMergingSnapshotManager::NotifyReleaseCheckpointLocked(const SubtaskKey& key, int64_t checkpoint_id,
                                                              std::vector<std::shared_ptr<PhysicalFile>>* release) {
  if (notified_checkpoints_.count(checkpoint_id) > 0) return;
  std::set<SubtaskKey>& notified = notified_subtasks_[checkpoint_id];
  notified.insert(key);
  const bool everyone = std::all_of(shared_directories_.begin(), shared_directories_.end(),
                                    [&](const auto& entry) { return notified.count(entry.first) > 0; });
  if (everyone) TryDiscardCheckpointLocked(checkpoint_id, release);
  while (notified_subtasks_.size() > kFileMergingNotifiedWindow) notified_subtasks_.erase(notified_subtasks_.begin());
}

void FileMergingSnapshotManager::TryDiscardCheckpointLocked(int64_t checkpoint_id,
                                                           std::vector<std::shared_ptr<PhysicalFile>>* release) {
  if (!notified_checkpoints_.insert(checkpoint_id).second) return;
  notified_subtasks_.erase(checkpoint_id);
  // Flink's discardCheckpoint: the within-checkpoint manager closes the checkpoint's whole pool; both control space.
  if (!options_.across_checkpoint_boundary) {
    ClosePoolQueuesLocked(checkpoint_id, std::nullopt, release);
    auto pool = pools_.find(checkpoint_id);
    if (pool != pools_.end()) {
      bool idle = pool->second.exclusive.out == 0 && pool->second.exclusive.waiters.empty();
      for (const auto& [key, queue] : pool->second.shared) idle = idle && queue.out == 0 && queue.waiters.empty();
      if (idle) pools_.erase(pool);
    }
  }
  ControlSpaceLocked();
  while (notified_checkpoints_.size() > kFileMergingNotifiedWindow) {
    notified_checkpoints_.erase(notified_checkpoints_.begin());
  }
}

void FileMergingSnapshotManager::ControlSpaceLocked() {
  const double logical = static_cast<double>(stats_.logical_file_size);
  const double physical = static_cast<double>(stats_.physical_file_size);
  if (!(logical * max_space_amplification_ < physical)) return;
  const double goal = logical * max_space_amplification_;
  std::map<std::string, std::shared_ptr<PhysicalFile>> files;  // distinct physical files of live segments
  for (const auto& [id, file] : known_logical_files_) files.emplace(file.physical->path_, file.physical);
  double alive = 0;
  for (const auto& [path, file] : files) {
    if (file->could_reuse_) alive += static_cast<double>(file->size_);
  }
  if (alive <= goal) return;
  std::vector<std::shared_ptr<PhysicalFile>> candidates;
  for (const auto& [path, file] : files) {
    if (file->closed_) candidates.push_back(file);
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const auto& a, const auto& b) { return a->wasted_size() > b->wasted_size(); });
  for (const std::shared_ptr<PhysicalFile>& file : candidates) {
    // Flink's checkReuseOnSpaceAmplification: a file whose own amplification is over the bound is not reused.
    if (file->could_reuse_ && static_cast<double>(file->size_) > static_cast<double>(file->data_size_) *
                                                                     max_space_amplification_) {
      file->could_reuse_ = false;
    }
    if (!file->could_reuse_) {
      alive -= static_cast<double>(file->wasted_size());
      if (alive <= goal) break;
    }
  }
}

void FileMergingSnapshotManager::ReusePreviousStateHandles(int64_t checkpoint_id,
                                                           const std::vector<std::string>& logical_ids) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::string& id : logical_ids) {
    auto found = known_logical_files_.find(id);
    if (found == known_logical_files_.end()) continue;  // not this manager's: ignored, as in Flink
    found->second.last_used_checkpoint = std::max(found->second.last_used_checkpoint, checkpoint_id);
  }
}

bool FileMergingSnapshotManager::CouldReusePreviousStateHandle(const std::string& logical_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = known_logical_files_.find(logical_id);
  return found != known_logical_files_.end() && found->second.physical->could_reuse_;
}

absl::Status FileMergingSnapshotManager::RestoreStateHandles(int64_t checkpoint_id, const SubtaskKey& key,
                                                             const std::vector<SegmentHandle>& segments) {
  CheckpointStorage* storage;
  std::string shared_directory;
  std::string exclusive_directory;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    storage = storage_;
    if (auto found = shared_directories_.find(key); found != shared_directories_.end()) {
      shared_directory = found->second.path;
    }
    if (exclusive_directory_.has_value()) exclusive_directory = exclusive_directory_->path;
  }
  // The physical files' sizes first (storage calls, outside the lock). A missing file fails the restore, naming it.
  std::map<std::string, uint64_t> sizes;
  for (const SegmentHandle& segment : segments) {
    if (sizes.count(segment.physical_path) > 0) continue;
    if (storage == nullptr) {
      sizes[segment.physical_path] = segment.offset + segment.length;
      continue;
    }
    absl::StatusOr<StoredObjectInfo> info = storage->Stat(segment.physical_path);
    if (!info.ok()) {
      return absl::Status(info.status().code(),
                          absl::StrCat("restoring the segments of checkpoint ", checkpoint_id, " for ",
                                       key.ManagedDirName(), ": physical file ", segment.physical_path, ": ",
                                       info.status().message()));
    }
    sizes[segment.physical_path] = info->size_bytes;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::string, std::shared_ptr<PhysicalFile>> physical_files;
  for (const auto& [id, logical] : known_logical_files_) {
    physical_files.emplace(logical.physical->path_, logical.physical);
  }
  std::set<std::string>& restored = uploaded_states_[checkpoint_id];
  for (const SegmentHandle& segment : segments) {
    std::shared_ptr<PhysicalFile>& file = physical_files[segment.physical_path];
    if (file == nullptr) {
      file = std::make_shared<PhysicalFile>();
      file->path_ = segment.physical_path;
      file->scope_ = segment.scope;
      // Owned only under this manager's own directories, and only once it has a file system (FLINK-35446).
      file->owned_ = storage != nullptr && (segment.scope == StateScope::kShared
                                                ? IsUnder(segment.physical_path, shared_directory)
                                                : IsUnder(segment.physical_path, exclusive_directory));
      file->closed_ = true;         // no stream: never written again
      file->could_reuse_ = false;   // nor referenced by a later checkpoint (FLINK-35803)
      file->size_ = sizes[segment.physical_path];
      if (file->owned_) {
        ++stats_.physical_file_count;
        stats_.physical_file_size += file->size_;
      }
    }
    if (known_logical_files_.count(segment.logical_id) > 0) {
      // Another subtask restored it already (a shared handle after rescaling): it is used by this checkpoint too.
      LogicalFile& logical = known_logical_files_[segment.logical_id];
      logical.last_used_checkpoint = std::max(logical.last_used_checkpoint, checkpoint_id);
      restored.insert(segment.logical_id);
      continue;
    }
    LogicalFile logical;
    logical.id = segment.logical_id;
    logical.physical = file;
    logical.offset = segment.offset;
    logical.length = segment.length;
    logical.subtask = key;
    logical.last_used_checkpoint = checkpoint_id;
    ++file->reference_count_;
    file->data_size_ += segment.length;
    if (file->owned_) {
      ++stats_.logical_file_count;
      stats_.logical_file_size += segment.length;
    }
    known_logical_files_.emplace(logical.id, std::move(logical));
    restored.insert(segment.logical_id);
  }
  return absl::OkStatus();
}

void FileMergingSnapshotManager::DeleteDirectory(const std::string& directory) {
  CheckpointStorage* storage;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    storage = storage_;
  }
  if (storage == nullptr) return;
  absl::StatusOr<std::vector<std::string>> paths = storage->List(directory + "/");
  if (!paths.ok()) return;
  for (const std::string& path : *paths) (void)storage->Delete(path);
}

void FileMergingSnapshotManager::Close() {
  std::vector<std::shared_ptr<PhysicalFile>> release;
  std::vector<std::string> cleanup;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [checkpoint, pool] : pools_) ClosePoolQueuesLocked(checkpoint, std::nullopt, &release);
    for (auto& [key, directory] : shared_directories_) {
      if (directory.tracking && directory.ongoing == 0) cleanup.push_back(directory.path);
      directory.tracking = false;
    }
    if (exclusive_directory_.has_value() && exclusive_directory_->tracking && exclusive_directory_->ongoing == 0) {
      cleanup.push_back(exclusive_directory_->path);
      exclusive_directory_->tracking = false;
    }
  }
  Release(release);
  for (const std::string& directory : cleanup) DeleteDirectory(directory);
}

FileMergingStats FileMergingSnapshotManager::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

std::map<std::string, LogicalFile> FileMergingSnapshotManager::KnownLogicalFiles() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return known_logical_files_;
}

}  // namespace snapsim
