// The coordinator side and the task side together on real disk with real threads (the --fs=posix mode):
// ThreadRuntime, rocksdb::Env::Default() and DirectoryCheckpointStorage. The same code the simulated job drives,
// here with genuine concurrency between the coordinator, the tasks' snapshots, uploads and deletions.
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
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
// Real time. Checkpoints here complete in milliseconds, but on a loaded machine (a CI runner, 2 cores running
// other tests) one took longer than the 300 ms this used to be, and expired: 7 runs in 50 failed. The timeout
// only bounds a hung checkpoint; it costs nothing when checkpoints complete, because ThreadRuntime's sleeps
// (the cancellers') end at once when the runtime is destroyed (see RealDeployment).
constexpr int64_t kCheckpointTimeoutMicros = 60'000'000;

// Which RealJob objects are alive, by serial number, and what the message threads found. A message thread looks
// its job up here before touching it, so a thread that outlives its job is counted instead of touching freed
// memory (it needs no sanitizer to be seen).
struct JobLiveness {
  std::mutex mutex;
  std::set<int64_t> alive;
  int64_t next_serial = 1;
  int delivered = 0;
  int delivered_after_the_job_was_destroyed = 0;

  static JobLiveness& Get() {
    static JobLiveness* liveness = new JobLiveness();
    return *liveness;
  }
  // True if the job is alive; counts the delivery either way.
  bool Deliver(int64_t serial) {
    std::lock_guard<std::mutex> lock(mutex);
    const bool is_alive = alive.count(serial) > 0;
    ++(is_alive ? delivered : delivered_after_the_job_was_destroyed);
    return is_alive;
  }
  std::pair<int, int> Counts() {
    std::lock_guard<std::mutex> lock(mutex);
    return {delivered, delivered_after_the_job_was_destroyed};
  }
};

// Two subtasks in one process; messages are threads.
class RealJob : public TaskGateway {
 public:
  RealJob(Runtime* runtime, CheckpointStorage* storage, const std::string& base) : runtime_(runtime), storage_(storage) {
    {
      JobLiveness& liveness = JobLiveness::Get();
      std::lock_guard<std::mutex> lock(liveness.mutex);
      serial_ = liveness.next_serial++;
      liveness.alive.insert(serial_);
    }
    for (int i = 0; i < kParallelism; ++i) {
      subtasks_.push_back(std::make_unique<Subtask>(*runtime));
      subtasks_[i]->range = *ComputeKeyGroupRangeForOperatorIndex(kMaxParallelism, kParallelism, i);
      subtasks_[i]->instance_path = absl::StrCat(base, "/tm-", i, "/instance");
    }
  }

  ~RealJob() override {
    JobLiveness& liveness = JobLiveness::Get();
    std::lock_guard<std::mutex> lock(liveness.mutex);
    liveness.alive.erase(serial_);
  }

  // From now on each notification is delivered only when the runtime is being torn down (its thread sleeps until
  // the runtime ends its sleeps): the latest a message can arrive, the schedule that exposes a teardown order
  // in which the job goes before the threads that touch it.
  void HoldNotificationsUntilTeardown() { hold_notifications_ = true; }

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
        state->operator_handles.resize(1);
        const std::optional<KeyedStateHandle>& handle = restore->operator_states[0].subtask_states[i];
        if (handle.has_value()) state->operator_handles[0].push_back(*handle);
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

  // Idempotent.
  void Close() {
    for (auto& subtask : subtasks_) {
      RuntimeMutexLock lock(subtask->mailbox);
      if (subtask->task == nullptr) continue;
      EXPECT_TRUE(subtask->task->Close().ok());
      subtask->task.reset();
      (void)DeleteRecursively(rocksdb::Env::Default(), subtask->instance_path);
    }
  }

  std::optional<std::vector<int64_t>> RunningAttempts() override { return std::vector<int64_t>(kParallelism, 1); }

  void TriggerCheckpoint(int index, int64_t attempt, int64_t id, const CheckpointOptions& options) override {
    runtime_->Spawn("trigger", [this, serial = serial_, index, attempt, id, options, coordinator = coordinator_] {
      if (!JobLiveness::Get().Deliver(serial)) return;
      Subtask& subtask = *subtasks_[index];
      absl::StatusOr<KeyedStateTask::SnapshotFuture> future;
      {
        RuntimeMutexLock lock(subtask.mailbox);
        future = subtask.task->TriggerSnapshot(id, options);
      }
      if (!future.ok()) {
        if (std::optional<CheckpointFailureReason> reason = DeclineReasonForTrigger(future.status())) {
          coordinator->ReceiveDecline(DeclineCheckpoint{id, index, attempt, *reason, future.status()});
        }
        return;
      }
      const absl::StatusOr<TaskSnapshot>& result = future->Get();
      if (!result.ok()) {
        if (std::optional<CheckpointFailureReason> reason = DeclineReasonForSnapshot(result.status(), true)) {
          coordinator->ReceiveDecline(DeclineCheckpoint{id, index, attempt, *reason, result.status()});
        }
        return;
      }
      coordinator->ReceiveAcknowledge(AcknowledgeCheckpoint{id, index, attempt, result->handles});
    });
  }

  void NotifyCheckpointComplete(int index, int64_t id, int64_t) override {
    runtime_->Spawn("notify-complete", [this, serial = serial_, hold = hold_notifications_, runtime = runtime_,
                                        index, id] {
      if (hold) runtime->SleepForMicros(kHeldMicros);
      if (!JobLiveness::Get().Deliver(serial)) return;
      RuntimeMutexLock lock(subtasks_[index]->mailbox);
      if (subtasks_[index]->task != nullptr) subtasks_[index]->task->NotifyCheckpointComplete(id);
    });
  }

  // Unlimited tolerable failures (the default): the coordinator never asks for a failover here.
  void FailJob(const absl::Status& cause) override { ADD_FAILURE() << "unexpected job failover: " << cause; }
  void NotifyCheckpointAborted(int index, int64_t id, int64_t latest) override {
    runtime_->Spawn("notify-aborted", [this, serial = serial_, hold = hold_notifications_, runtime = runtime_,
                                       index, id, latest] {
      if (hold) runtime->SleepForMicros(kHeldMicros);
      if (!JobLiveness::Get().Deliver(serial)) return;
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
  // Ended early by the runtime's teardown, never reached otherwise.
  static constexpr int64_t kHeldMicros = 3'600'000'000;

  Runtime* runtime_;
  CheckpointStorage* storage_;
  int64_t serial_ = 0;
  bool hold_notifications_ = false;
  std::shared_ptr<CheckpointCoordinator> coordinator_;
  std::vector<std::unique_ptr<Subtask>> subtasks_;
};

// A job on real threads: the runtime, the job (its subtasks and their tasks) and the job's coordinator, torn down
// in the one safe order. Until the runtime has joined them, its threads (a trigger, a complete or aborted
// notification, an upload, a deletion, a checkpoint canceller) may touch the job, its tasks and the coordinator.
// So the destructor closes the tasks (waiting for their snapshots), then destroys the runtime, which ends every
// sleep at once and joins every thread, and only then frees the coordinator and the job. This test used to
// declare the runtime before the job, so the job was destroyed first, and a notify-aborted thread that ran late
// locked a freed subtask's mailbox (ThreadSanitizer, 1 run in 71).
class RealDeployment {
 public:
  // `task_storage`: what the tasks upload to (the coordinator uses `storage`); the same object unless a test
  // slows the tasks down.
  RealDeployment(CheckpointStorage* storage, CheckpointStorage* task_storage, const std::string& base)
      : storage_(storage),
        runtime_(std::make_unique<ThreadRuntime>()),
        job_(std::make_unique<RealJob>(runtime_.get(), task_storage, base)) {}

  ~RealDeployment() {
    job_->Close();
    runtime_.reset();  // joins every thread; the job and the coordinator are still alive for them
    coordinator_.reset();
    job_.reset();
  }

  absl::Status CreateCoordinator(const CheckpointCoordinatorConfig& config, CheckpointIdCounter* counter) {
    absl::StatusOr<std::shared_ptr<CheckpointCoordinator>> coordinator =
        CheckpointCoordinator::Create(config, runtime_.get(), storage_, counter, job_.get());
    if (!coordinator.ok()) return coordinator.status();
    coordinator_ = *std::move(coordinator);
    return absl::OkStatus();
  }

  RealJob& job() { return *job_; }
  CheckpointCoordinator& coordinator() { return *coordinator_; }
  const std::shared_ptr<CheckpointCoordinator>& coordinator_pointer() { return coordinator_; }

 private:
  CheckpointStorage* storage_;
  std::unique_ptr<ThreadRuntime> runtime_;
  std::unique_ptr<RealJob> job_;
  std::shared_ptr<CheckpointCoordinator> coordinator_;
};

// Checkpoint storage on a slow machine: every object takes `delay` longer to complete (the uploads of a busy CI
// runner, a remote file system).
class SlowStorage : public CheckpointStorage {
 public:
  SlowStorage(CheckpointStorage* storage, std::chrono::milliseconds delay) : storage_(storage), delay_(delay) {}

  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> Create(const std::string& path) override {
    absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = storage_->Create(path);
    if (!stream.ok()) return stream.status();
    return std::unique_ptr<CheckpointOutputStream>(new SlowStream(*std::move(stream), delay_));
  }
  absl::StatusOr<std::string> Read(const std::string& path) override { return storage_->Read(path); }
  absl::Status Delete(const std::string& path) override { return storage_->Delete(path); }
  absl::StatusOr<std::vector<std::string>> List(const std::string& prefix) override { return storage_->List(prefix); }
  absl::StatusOr<bool> Exists(const std::string& path) override { return storage_->Exists(path); }
  absl::StatusOr<StoredObjectInfo> Stat(const std::string& path) override { return storage_->Stat(path); }

 private:
  class SlowStream : public CheckpointOutputStream {
   public:
    SlowStream(std::unique_ptr<CheckpointOutputStream> stream, std::chrono::milliseconds delay)
        : stream_(std::move(stream)), delay_(delay) {}
    absl::Status Write(absl::string_view data) override { return stream_->Write(data); }
    absl::StatusOr<StoredObjectInfo> Finish() override {
      std::this_thread::sleep_for(delay_);  // a slow disk, not a runtime timer: teardown does not shorten it
      return stream_->Finish();
    }
    void Cancel() override { stream_->Cancel(); }

   private:
    std::unique_ptr<CheckpointOutputStream> stream_;
    std::chrono::milliseconds delay_;
  };

  CheckpointStorage* storage_;
  std::chrono::milliseconds delay_;
};

std::string TestBase(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string base = std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
  (void)DeleteRecursively(rocksdb::Env::Default(), base);
  EXPECT_TRUE(CreateDirectories(rocksdb::Env::Default(), base).ok());
  return base;
}

CheckpointCoordinatorConfig Config(const std::string& job_id) {
  CheckpointCoordinatorConfig config;
  config.job_id = job_id;
  config.checkpoint_root = job_id;
  config.savepoint_root = "savepoints";
  config.parallelism = kParallelism;
  config.max_parallelism = kMaxParallelism;
  config.checkpoint_timeout_micros = kCheckpointTimeoutMicros;
  config.retention = CheckpointRetention::kRetainOnCancellation;
  return config;
}

int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

TEST(RealDiskLifecycleTest, CheckpointsOnRealThreadsLeaveOnlyTheRetainedCheckpointAndRestoreIt) {
  const std::string base = TestBase("real_disk_lifecycle");
  DirectoryCheckpointStorage storage(base + "/checkpoints");
  InMemoryCheckpointIdCounter counter;
  const CheckpointCoordinatorConfig config = Config("job-real");
  const auto [delivered_before, late_before] = JobLiveness::Get().Counts();

  std::map<std::string, std::string> expected;
  std::shared_ptr<const CompletedCheckpoint> last;
  int64_t teardown_started_millis = 0;
  {
    RealDeployment deployment(&storage, &storage, base);
    ASSERT_TRUE(deployment.CreateCoordinator(config, &counter).ok());
    ASSERT_TRUE(deployment.job().Deploy(deployment.coordinator_pointer(), nullptr).ok());
    for (int round = 0; round < 4; ++round) {
      for (int i = 0; i < 100; ++i) {
        const std::string key = absl::StrCat("key-", (round * 37 + i) % 250);
        const std::string value = absl::StrCat("round-", round, "-", i);
        ASSERT_TRUE(deployment.job().Put(key, value).ok());
        expected[key] = value;
      }
      deployment.job().Flush();
      CheckpointCoordinator::Result result = deployment.coordinator().TriggerCheckpoint().Get();
      ASSERT_TRUE(result.ok()) << result.status();
      last = *result;
    }
    deployment.job().Close();
    deployment.coordinator().Shutdown(JobStatus::kCanceled);
    teardown_started_millis = SteadyMillis();
  }  // joins every thread (snapshots, messages, deletions, cancellers), then frees the job
  // Four cancellers were sleeping out the 60 s timeout: teardown ended them instead of waiting.
  EXPECT_LT(SteadyMillis() - teardown_started_millis, kCheckpointTimeoutMicros / 1000 / 2);
  const auto [delivered_after, late_after] = JobLiveness::Get().Counts();
  EXPECT_GT(delivered_after, delivered_before);
  EXPECT_EQ(late_after, late_before) << "a message thread ran after its job was destroyed";

  // Retained on cancellation: exactly the last checkpoint's files are left.
  absl::StatusOr<std::vector<std::string>> listed = storage.List("job-real/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  const std::set<std::string> left(listed->begin(), listed->end());
  EXPECT_EQ(left, ReferencedPaths(*last));

  // Resume from its path in CLAIM mode, with new threads.
  RealDeployment deployment(&storage, &storage, base + "/resumed");
  CheckpointCoordinatorConfig resumed = Config("job-real-2");
  resumed.restore_mode = RestoreMode::kClaim;
  ASSERT_TRUE(deployment.CreateCoordinator(resumed, &counter).ok());
  CheckpointCoordinator::Result restored =
      deployment.coordinator().RestoreSavepoint(last->external_pointer, RestoreMode::kClaim);
  ASSERT_TRUE(restored.ok()) << restored.status();
  ASSERT_TRUE(deployment.job().Deploy(deployment.coordinator_pointer(), *restored).ok());
  EXPECT_EQ(deployment.job().State(), expected);
  deployment.job().Close();
  deployment.coordinator().Shutdown(JobStatus::kCanceled);
}

// Issue 14, item 2: the checkpoint timeout must not be a bet on the machine's speed. Every upload here takes
// longer than the whole timeout used to be.
TEST(RealDiskLifecycleTest, CheckpointsCompleteOnASlowMachine) {
  const std::string base = TestBase("real_disk_lifecycle_slow");
  DirectoryCheckpointStorage storage(base + "/checkpoints");
  SlowStorage slow(&storage, std::chrono::milliseconds(350));
  InMemoryCheckpointIdCounter counter;
  RealDeployment deployment(&storage, &slow, base);
  ASSERT_TRUE(deployment.CreateCoordinator(Config("job-slow"), &counter).ok());
  ASSERT_TRUE(deployment.job().Deploy(deployment.coordinator_pointer(), nullptr).ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(deployment.job().Put(absl::StrCat("key-", i), "value").ok());
  deployment.job().Flush();
  const int64_t started_millis = SteadyMillis();
  CheckpointCoordinator::Result result = deployment.coordinator().TriggerCheckpoint().Get();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GE(SteadyMillis() - started_millis, 350) << "the slow storage did not slow the checkpoint down";
  deployment.job().Close();
  deployment.coordinator().Shutdown(JobStatus::kCanceled);
}

// Issue 14, item 3: a message that arrives as late as it can, while the runtime is being torn down, must find its
// job alive (it used to find it freed).
TEST(RealDiskLifecycleTest, NotificationsDeliveredDuringTeardownFindTheirJobAlive) {
  const std::string base = TestBase("real_disk_lifecycle_teardown");
  DirectoryCheckpointStorage storage(base + "/checkpoints");
  InMemoryCheckpointIdCounter counter;
  const auto [delivered_before, late_before] = JobLiveness::Get().Counts();
  {
    RealDeployment deployment(&storage, &storage, base);
    ASSERT_TRUE(deployment.CreateCoordinator(Config("job-teardown"), &counter).ok());
    ASSERT_TRUE(deployment.job().Deploy(deployment.coordinator_pointer(), nullptr).ok());
    deployment.job().HoldNotificationsUntilTeardown();
    // What the coordinator sends when a checkpoint completes and when one is aborted.
    deployment.job().NotifyCheckpointComplete(0, 1, 0);
    deployment.job().NotifyCheckpointAborted(1, 2, 1);
    deployment.coordinator().Shutdown(JobStatus::kCanceled);
  }
  const auto [delivered_after, late_after] = JobLiveness::Get().Counts();
  EXPECT_EQ(late_after - late_before, 0) << "notifications delivered after their job was destroyed";
  EXPECT_EQ(delivered_after - delivered_before, 2) << "the held notifications were not delivered";
}

}  // namespace
}  // namespace snapsim
