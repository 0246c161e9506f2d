// The coordinator side and the task side together on real disk with real threads (the --fs=posix mode):
// ThreadRuntime, rocksdb::Env::Default() and DirectoryCheckpointStorage. The same code the simulated job drives,
// here with genuine concurrency between the coordinator, the tasks' snapshots, uploads and deletions.
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backend/key_groups.h"
#include "backend/local_files.h"
#include "backend/runtime.h"
#include "snapshot/checkpoint_coordinator.h"
#include "snapshot/directory_checkpoint_storage.h"
#include "snapshot/keyed_state_task.h"

namespace snapsim {
namespace {

constexpr int kParallelism = 2;
constexpr int kMaxParallelism = 128;

// Two subtasks in one process; messages are threads.
class RealJob : public TaskGateway {
 public:
  RealJob(Runtime* runtime, CheckpointStorage* storage, const std::string& base) : runtime_(runtime), storage_(storage) {
    for (int i = 0; i < kParallelism; ++i) {
      subtasks_.push_back(std::make_unique<Subtask>(*runtime));
      subtasks_[i]->range = *ComputeKeyGroupRangeForOperatorIndex(kMaxParallelism, kParallelism, i);
      subtasks_[i]->instance_path = absl::StrCat(base, "/tm-", i, "/instance");
    }
  }

  absl::Status Deploy(std::shared_ptr<CheckpointCoordinator> coordinator,
                      std::shared_ptr<const CompletedCheckpoint> restore) {
    coordinator_ = std::move(coordinator);
    for (int i = 0; i < kParallelism; ++i) {
      KeyedStateTaskConfig config;
      config.backend.env = rocksdb::Env::Default();
      config.backend.instance_path = subtasks_[i]->instance_path;
      config.backend.max_parallelism = kMaxParallelism;
      config.backend.key_group_range = subtasks_[i]->range;
      config.backend.preset = OptionsPreset::kRealDisk;
      config.incremental = true;
      std::optional<TaskRestoreState> state;
      if (restore != nullptr) {
        state.emplace();
        state->checkpoint_id = restore->checkpoint_id;
        if (restore->subtask_states[i].has_value()) state->handles.push_back(*restore->subtask_states[i]);
      }
      absl::StatusOr<std::unique_ptr<KeyedStateTask>> task =
          KeyedStateTask::Start(config, runtime_, storage_, nullptr, state);
      if (!task.ok()) return task.status();
      subtasks_[i]->task = *std::move(task);
      if (absl::Status status = subtasks_[i]->task->backend().RegisterState("value", StateKind::kValue);
          !status.ok()) {
        return status;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Put(const std::string& key, const std::string& value) {
    Subtask& subtask = *subtasks_[ComputeOperatorIndexForKeyGroup(kMaxParallelism, kParallelism,
                                                                  AssignKeyToKeyGroup(key, kMaxParallelism))];
    RuntimeMutexLock lock(subtask.mailbox);
    if (absl::Status status = subtask.task->backend().SetCurrentKey(key); !status.ok()) return status;
    return subtask.task->backend().PutValue("value", value);
  }

  std::map<std::string, std::string> State() {
    std::map<std::string, std::string> state;
    for (auto& subtask : subtasks_) {
      RuntimeMutexLock lock(subtask->mailbox);
      EXPECT_TRUE(subtask->task->backend()
                      .ForEachEntry("value", subtask->range,
                                    [&](const StateEntry& entry) {
                                      state[entry.key.key] = entry.value;
                                      return true;
                                    })
                      .ok());
    }
    return state;
  }

  void Flush() {
    for (auto& subtask : subtasks_) {
      RuntimeMutexLock lock(subtask->mailbox);
      EXPECT_TRUE(subtask->task->backend().Flush().ok());
    }
  }

  void Close() {
    for (auto& subtask : subtasks_) {
      RuntimeMutexLock lock(subtask->mailbox);
      EXPECT_TRUE(subtask->task->Close().ok());
      subtask->task.reset();
      (void)DeleteRecursively(rocksdb::Env::Default(), subtask->instance_path);
    }
  }

  std::optional<std::vector<int64_t>> RunningAttempts() override { return std::vector<int64_t>(kParallelism, 1); }

  void TriggerCheckpoint(int index, int64_t attempt, int64_t id, const CheckpointOptions& options) override {
    runtime_->Spawn("trigger", [this, index, attempt, id, options, coordinator = coordinator_] {
      Subtask& subtask = *subtasks_[index];
      absl::StatusOr<KeyedStateTask::SnapshotFuture> future;
      {
        RuntimeMutexLock lock(subtask.mailbox);
        future = subtask.task->TriggerSnapshot(id, options);
      }
      if (!future.ok()) {
        coordinator->ReceiveDecline(DeclineCheckpoint{id, index, attempt, future.status()});
        return;
      }
      const absl::StatusOr<std::optional<KeyedStateHandle>>& result = future->Get();
      if (!result.ok()) {
        coordinator->ReceiveDecline(DeclineCheckpoint{id, index, attempt, result.status()});
        return;
      }
      coordinator->ReceiveAcknowledge(AcknowledgeCheckpoint{id, index, attempt, *result});
    });
  }

  void NotifyCheckpointComplete(int index, int64_t id, int64_t) override {
    runtime_->Spawn("notify-complete", [this, index, id] {
      RuntimeMutexLock lock(subtasks_[index]->mailbox);
      if (subtasks_[index]->task != nullptr) subtasks_[index]->task->NotifyCheckpointComplete(id);
    });
  }

  void NotifyCheckpointAborted(int index, int64_t id, int64_t latest) override {
    runtime_->Spawn("notify-aborted", [this, index, id, latest] {
      RuntimeMutexLock lock(subtasks_[index]->mailbox);
      if (subtasks_[index]->task != nullptr) subtasks_[index]->task->NotifyCheckpointAborted(id, latest);
    });
  }

 private:
  struct Subtask {
    explicit Subtask(Runtime& runtime) : mailbox(runtime) {}
    RuntimeMutex mailbox;
    KeyGroupRange range;
    std::string instance_path;
    std::unique_ptr<KeyedStateTask> task;
  };
  Runtime* runtime_;
  CheckpointStorage* storage_;
  std::shared_ptr<CheckpointCoordinator> coordinator_;
  std::vector<std::unique_ptr<Subtask>> subtasks_;
};

TEST(RealDiskLifecycleTest, CheckpointsOnRealThreadsLeaveOnlyTheRetainedCheckpointAndRestoreIt) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string base = std::string(tmp != nullptr ? tmp : "/tmp") + "/real_disk_lifecycle";
  (void)DeleteRecursively(rocksdb::Env::Default(), base);
  ASSERT_TRUE(CreateDirectories(rocksdb::Env::Default(), base).ok());
  DirectoryCheckpointStorage storage(base + "/checkpoints");
  InMemoryCheckpointIdCounter counter;
  CheckpointCoordinatorConfig config;
  config.job_id = "job-real";
  config.checkpoint_root = "job-real";
  config.savepoint_root = "savepoints";
  config.parallelism = kParallelism;
  config.max_parallelism = kMaxParallelism;
  config.checkpoint_timeout_micros = 300'000;  // real time: the canceller threads sleep this long
  config.retention = CheckpointRetention::kRetainOnCancellation;

  std::map<std::string, std::string> expected;
  std::shared_ptr<const CompletedCheckpoint> last;
  {
    ThreadRuntime runtime;
    RealJob job(&runtime, &storage, base);
    absl::StatusOr<std::shared_ptr<CheckpointCoordinator>> coordinator =
        CheckpointCoordinator::Create(config, &runtime, &storage, &counter, &job);
    ASSERT_TRUE(coordinator.ok()) << coordinator.status();
    ASSERT_TRUE(job.Deploy(*coordinator, nullptr).ok());
    for (int round = 0; round < 4; ++round) {
      for (int i = 0; i < 100; ++i) {
        const std::string key = absl::StrCat("key-", (round * 37 + i) % 250);
        const std::string value = absl::StrCat("round-", round, "-", i);
        ASSERT_TRUE(job.Put(key, value).ok());
        expected[key] = value;
      }
      job.Flush();
      CheckpointCoordinator::Result result = (*coordinator)->TriggerCheckpoint().Get();
      ASSERT_TRUE(result.ok()) << result.status();
      last = *result;
    }
    job.Close();
    (*coordinator)->Shutdown(JobStatus::kCanceled);
  }  // joins every thread: snapshots, messages, deletions, cancellers

  // Retained on cancellation: exactly the last checkpoint's files are left.
  absl::StatusOr<std::vector<std::string>> listed = storage.List("job-real/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  const std::set<std::string> left(listed->begin(), listed->end());
  EXPECT_EQ(left, ReferencedPaths(*last));

  // Resume from its path in CLAIM mode, with new threads.
  ThreadRuntime runtime;
  RealJob job(&runtime, &storage, base + "/resumed");
  CheckpointCoordinatorConfig resumed = config;
  resumed.job_id = "job-real-2";
  resumed.checkpoint_root = "job-real-2";
  resumed.restore_mode = RestoreMode::kClaim;
  absl::StatusOr<std::shared_ptr<CheckpointCoordinator>> coordinator =
      CheckpointCoordinator::Create(resumed, &runtime, &storage, &counter, &job);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  CheckpointCoordinator::Result restored = (*coordinator)->RestoreSavepoint(last->external_pointer, RestoreMode::kClaim);
  ASSERT_TRUE(restored.ok()) << restored.status();
  ASSERT_TRUE(job.Deploy(*coordinator, *restored).ok());
  EXPECT_EQ(job.State(), expected);
  job.Close();
  (*coordinator)->Shutdown(JobStatus::kCanceled);
}

}  // namespace
}  // namespace snapsim
