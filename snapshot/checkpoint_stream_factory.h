// Where a snapshot's files go in checkpoint storage. SHARED scope: <checkpoint root>/shared/<unique id>, files
// that later checkpoints may reuse; EXCLUSIVE scope: the checkpoint's own directory <checkpoint root>/chk-<id>/
// <unique id> (a savepoint's own directory for savepoints). Follows Flink's FsCheckpointStreamFactory and
// CheckpointedStateScope.
#ifndef SNAPSIM_SNAPSHOT_CHECKPOINT_STREAM_FACTORY_H_
#define SNAPSIM_SNAPSHOT_CHECKPOINT_STREAM_FACTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "backend/runtime.h"
#include "snapshot/checkpoint_storage.h"

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

class CheckpointStreamFactory {
 public:
  // `exclusive_directory`: the checkpoint's (or savepoint's) own directory; `shared_directory`: the job's shared
  // directory. Neither ends with '/'.
  CheckpointStreamFactory(CheckpointStorage* storage, Runtime* runtime, std::string shared_directory,
                          std::string exclusive_directory)
      : storage_(storage),
        runtime_(runtime),
        shared_directory_(std::move(shared_directory)),
        exclusive_directory_(std::move(exclusive_directory)) {}

  // The usual layout under a job's checkpoint root.
  static CheckpointStreamFactory ForCheckpoint(CheckpointStorage* storage, Runtime* runtime,
                                               const std::string& checkpoint_root, int64_t checkpoint_id) {
    return CheckpointStreamFactory(storage, runtime, checkpoint_root + "/shared",
                                   checkpoint_root + "/chk-" + std::to_string(checkpoint_id));
  }

  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> CreateStream(StateScope scope) {
    const std::string& directory = scope == StateScope::kShared ? shared_directory_ : exclusive_directory_;
    const std::string path = directory + "/" + runtime_->NewUniqueId();
    absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = storage_->Create(path);
    if (!stream.ok()) return stream.status();
    return std::unique_ptr<CheckpointOutputStream>(
        std::make_unique<DeleteOnFailedFinishStream>(*std::move(stream), storage_, path));
  }

  CheckpointStorage* storage() const { return storage_; }
  const std::string& exclusive_directory() const { return exclusive_directory_; }

 private:
  CheckpointStorage* storage_;
  Runtime* runtime_;
  std::string shared_directory_;
  std::string exclusive_directory_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_CHECKPOINT_STREAM_FACTORY_H_
