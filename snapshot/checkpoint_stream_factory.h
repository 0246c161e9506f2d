// Where a snapshot's files go in checkpoint storage. SHARED scope: <checkpoint root>/shared/<unique id>, files
// that later checkpoints may reuse; EXCLUSIVE scope: the checkpoint's own directory <checkpoint root>/chk-<id>/
// <unique id> (a savepoint's own directory for savepoints). Follows Flink's FsCheckpointStreamFactory and
// CheckpointedStateScope, with its in-memory threshold: small state becomes inline state in the metadata.
#ifndef SNAPSIM_SNAPSHOT_CHECKPOINT_STREAM_FACTORY_H_
#define SNAPSIM_SNAPSHOT_CHECKPOINT_STREAM_FACTORY_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "backend/runtime.h"
#include "snapshot/checkpoint_storage.h"
#include "snapshot/state_handles.h"

namespace snapsim {

enum class StateScope { kShared, kExclusive };

// A stream that knows its path and deletes it, best effort, when Finish fails: storage may have kept the object
// although the put reported failure (a lost response, an object cut short), and nobody else knows its name.
// Flink's FsCheckpointStateOutputStream deletes its file when closeAndGetHandle fails for the same reason. (Without
// it, such an upload into shared/ leaked: found by the fault model's upload-fails-after and upload-partial kinds.)
class DeleteOnFailedFinishStream : public CheckpointOutputStream {
 public:
  DeleteOnFailedFinishStream(std::unique_ptr<CheckpointOutputStream> stream, CheckpointStorage* storage,
                             std::string path)
      : stream_(std::move(stream)), storage_(storage), path_(std::move(path)) {}
  absl::Status Write(absl::string_view data) override { return stream_->Write(data); }
  absl::StatusOr<StoredObjectInfo> Finish() override {
    absl::StatusOr<StoredObjectInfo> stored = stream_->Finish();
    if (!stored.ok() && !absl::IsCancelled(stored.status())) (void)storage_->Delete(path_);
    return stored;
  }
  void Cancel() override { stream_->Cancel(); }

 private:
  std::unique_ptr<CheckpointOutputStream> stream_;
  CheckpointStorage* storage_;
  const std::string path_;
};

// A state stream as the snapshot code writes it (Flink's FsCheckpointStateOutputStream): an object in storage, or,
// with a memory threshold, bytes kept in memory while they are at most the threshold, which become an inline handle
// (Flink's ByteStreamStateHandle) and never an object. Cancel may be called from another activity.
class StateOutputStream {
 public:
  // `threshold` 0: the object is created at once (no inline state).
  static absl::StatusOr<std::unique_ptr<StateOutputStream>> Create(CheckpointStorage* storage, std::string path,
                                                                   uint64_t threshold);

  absl::Status Write(absl::string_view data);
  // The handle of what was written: inline when the bytes stayed in memory, else the finished object's.
  absl::StatusOr<StreamStateHandle> CloseAndGetHandle();
  void Cancel();

 private:
  StateOutputStream(CheckpointStorage* storage, std::string path, uint64_t threshold)
      : storage_(storage), path_(std::move(path)), threshold_(threshold) {}
  absl::StatusOr<std::shared_ptr<CheckpointOutputStream>> OpenObject();

  CheckpointStorage* storage_;
  const std::string path_;
  const uint64_t threshold_;
  std::mutex mutex_;
  std::string buffer_;
  // Created once the bytes outgrow the threshold (at once without one).
  std::shared_ptr<CheckpointOutputStream> object_;
  bool cancelled_ = false;
};

class CheckpointStreamFactory {
 public:
  // `exclusive_directory`: the checkpoint's (or savepoint's) own directory; `shared_directory`: the job's shared
  // directory. Neither ends with '/'. `memory_threshold`: Flink's state.storage.fs.memory-threshold, streams of at
  // most this many bytes are inline state (0: never).
  CheckpointStreamFactory(CheckpointStorage* storage, Runtime* runtime, std::string shared_directory,
                          std::string exclusive_directory, uint64_t memory_threshold = 0)
      : storage_(storage),
        runtime_(runtime),
        shared_directory_(std::move(shared_directory)),
        exclusive_directory_(std::move(exclusive_directory)),
        memory_threshold_(memory_threshold) {}

  // The usual layout under a job's checkpoint root.
  static CheckpointStreamFactory ForCheckpoint(CheckpointStorage* storage, Runtime* runtime,
                                               const std::string& checkpoint_root, int64_t checkpoint_id,
                                               uint64_t memory_threshold = 0) {
    return CheckpointStreamFactory(storage, runtime, checkpoint_root + "/shared",
                                   checkpoint_root + "/chk-" + std::to_string(checkpoint_id), memory_threshold);
  }

  absl::StatusOr<std::unique_ptr<StateOutputStream>> CreateStream(StateScope scope) {
    const std::string& directory = scope == StateScope::kShared ? shared_directory_ : exclusive_directory_;
    return StateOutputStream::Create(storage_, directory + "/" + runtime_->NewUniqueId(), memory_threshold_);
  }

  CheckpointStorage* storage() const { return storage_; }
  const std::string& exclusive_directory() const { return exclusive_directory_; }

 private:
  CheckpointStorage* storage_;
  Runtime* runtime_;
  std::string shared_directory_;
  std::string exclusive_directory_;
  uint64_t memory_threshold_;
};

// Flink's cap on state.storage.fs.memory-threshold.
inline constexpr uint64_t kMaxMemoryThreshold = uint64_t{1} << 20;

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_CHECKPOINT_STREAM_FACTORY_H_
