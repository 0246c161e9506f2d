// The two RocksDB native snapshot strategies of FLINK-28699 and the runner that drives them.
// - IncrementalSnapshotStrategy (Flink's RocksIncrementalSnapshotStrategy): SSTs of the last checkpoint confirmed
//   to this backend become placeholders, other SSTs are uploaded as shared state, MANIFEST/CURRENT/OPTIONS as
//   private; uploads are tracked per checkpoint and pruned on complete/abort notifications. As in later Flink, an
//   SST that two recorded checkpoints uploaded as different objects stays only in the newer one's record: when the
//   newer completes it subsumes the older and the registry deletes the older copy, so a base still pointing at
//   it (its completion notification raced the next trigger) would be declined as unknown state. The older base
//   re-uploads the file instead (issue 13 part 1; found by the lifecycle sweep, seed 61).
// - NativeFullSnapshotStrategy (Flink's RocksNativeFullSnapshotStrategy): every file uploaded as private state in
//   the same handle type, so restore does not care which mode wrote a checkpoint.
// - SnapshotRunner (Flink's SnapshotStrategyRunner + AsyncSnapshotCallable): the synchronous part on the caller's
//   activity, the asynchronous part as its own activity, cancellable.
#ifndef SNAPSIM_SNAPSHOT_SNAPSHOT_STRATEGIES_H_
#define SNAPSIM_SNAPSHOT_SNAPSHOT_STRATEGIES_H_

#include <map>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "snapshot/snapshot_strategy_base.h"

namespace snapsim {

// What a restore tells the incremental strategy (Flink's restoredSstFiles, lastCompletedCheckpointId).
struct RestoredSnapshotHistory {
  int64_t last_completed_checkpoint_id = -1;
  std::map<int64_t, std::vector<HandleAndLocalPath>> sst_files;
};

class IncrementalSnapshotStrategy : public SnapshotStrategyBase {
 public:
  IncrementalSnapshotStrategy(KeyedStateBackend* backend, Runtime* runtime, StateUploader* uploader,
                              LocalRecoveryConfig local_recovery, std::string backend_uid,
                              RestoredSnapshotHistory history = {});

  // Makes `checkpoint_id` the base for reuse, only if it is newer than the current base and this backend
  // recorded its uploads (FLINK-23949: a savepoint or unknown id must not drop the base).
  void NotifyCheckpointComplete(int64_t checkpoint_id) override;
  void NotifyCheckpointAborted(int64_t checkpoint_id) override;

  int64_t last_completed_checkpoint_id() const;
  // Checkpoint ids with recorded uploads, ascending.
  std::vector<int64_t> TrackedCheckpoints() const;

 protected:
  PreviousSnapshot SnapshotMetaData(int64_t checkpoint_id, std::vector<StateMetaInfo>* meta_infos) override;
  absl::Status UploadSnapshotFiles(NativeSnapshotResources& resources, int64_t checkpoint_id,
                                   CheckpointStreamFactory& factory, SnapshotType type,
                                   CloseableRegistry& snapshot_registry, CloseableRegistry& tmp_resources,
                                   IncrementalRemoteKeyedStateHandle* handle) override;

 private:
  // REQUIRES: mutex_. Keeps each local SST name that several records hold as different objects only in the newest.
  void PruneDuplicateUploadsLocked(int64_t checkpoint_id, std::vector<HandleAndLocalPath>* record);

  mutable std::mutex mutex_;
  int64_t last_completed_checkpoint_id_;
  // Checkpoint id -> its SST files with their real (never placeholder) handles.
  std::map<int64_t, std::vector<HandleAndLocalPath>> uploaded_sst_files_;
};

class NativeFullSnapshotStrategy : public SnapshotStrategyBase {
 public:
  NativeFullSnapshotStrategy(KeyedStateBackend* backend, Runtime* runtime, StateUploader* uploader,
                             LocalRecoveryConfig local_recovery, std::string backend_uid);
  void NotifyCheckpointComplete(int64_t /*checkpoint_id*/) override {}
  void NotifyCheckpointAborted(int64_t /*checkpoint_id*/) override {}

 protected:
  PreviousSnapshot SnapshotMetaData(int64_t checkpoint_id, std::vector<StateMetaInfo>* meta_infos) override;
  absl::Status UploadSnapshotFiles(NativeSnapshotResources& resources, int64_t checkpoint_id,
                                   CheckpointStreamFactory& factory, SnapshotType type,
                                   CloseableRegistry& snapshot_registry, CloseableRegistry& tmp_resources,
                                   IncrementalRemoteKeyedStateHandle* handle) override;
};

class SnapshotRunner {
 public:
  struct Running {
    Future<absl::StatusOr<SnapshotResult>> result;
    std::shared_ptr<CloseableRegistry> registry;
    // Set by MarkCancelled() or Cancel(), whenever they come: Flink's AsyncCheckpointRunnable reports a snapshot only
    // if it moves from RUNNING to COMPLETED, so one cancelled after its uploads finished is discarded, not reported.
    std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
    // The RUNNING -> DISCARDED half of a cancellation, cheap enough to do under the lock that guards the running
    // snapshots (KeyedStateTask's), so that it and the RUNNING -> COMPLETED check cannot cross.
    void MarkCancelled() const { cancelled->store(true, std::memory_order_release); }
    // Cancels the asynchronous part: its open streams close and it ends with Cancelled, having deleted its files.
    void Cancel() const {
      MarkCancelled();
      registry->Close();
    }
    bool WasCancelled() const { return cancelled->load(std::memory_order_acquire); }
  };

  // Runs the synchronous part now; a failure there declines the checkpoint. The asynchronous part runs as the
  // activity "async-snapshot-<id>" and releases the resources when it ends.
  static absl::StatusOr<Running> Snapshot(SnapshotStrategyBase& strategy, Runtime& runtime, int64_t checkpoint_id,
                                          CheckpointStreamFactory factory, SnapshotType type);
};

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_SNAPSHOT_STRATEGIES_H_
