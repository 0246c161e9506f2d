// The simulated job: a checkpoint coordinator and P subtasks of one keyed operator, each subtask a KeyedStateTask
// on its own simulated machine (task manager) with its task-local state store, all sharing the simulated object
// store as checkpoint storage. Messages between coordinator and tasks are activities with latency drawn from the
// seed, and pass a fault hook (drop, duplicate). Restarts: task failover, machine crash (its local disk and task
// manager lost), coordinator failover (store recovered from storage), and stop then resume from a retained
// checkpoint or savepoint with another configuration (see Start's `restore`).
//
// The job also keeps the model: the logical state (key -> value) the driver wrote, and its content at each
// checkpoint as each subtask took its synchronous snapshot. After any restore the model becomes the restored
// checkpoint's, so ActualState() == Model() is DESIGN.md's restore-equality invariant.
#ifndef SNAPSIM_SIM_SIM_JOB_H_
#define SNAPSIM_SIM_SIM_JOB_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sim/prng.h"
#include "sim/sim_machine.h"
#include "sim/sim_object_store.h"
#include "sim/sim_scheduler.h"
#include "snapshot/checkpoint_coordinator.h"
#include "snapshot/keyed_state_task.h"

namespace snapsim {

using KeyValueMap = std::map<std::string, std::string>;

struct SimJobConfig {
  std::string job_id = "job-1";
  std::string checkpoints_directory = "checkpoints";
  std::string savepoints_directory = "savepoints";
  int parallelism = 2;
  int max_parallelism = 128;
  // Flink's state.backend.incremental.
  bool incremental = true;
  bool local_recovery = false;
  RestoreMode restore_mode = RestoreMode::kNoClaim;
  int64_t checkpoint_interval_micros = 0;
  int64_t checkpoint_timeout_micros = 60'000'000;
  int max_concurrent_checkpoints = 1;
  int num_retained = 1;
  CheckpointRetention retention = CheckpointRetention::kRetainOnCancellation;
  int upload_threads = 2;
  int64_t message_latency_micros_max = 2000;
};

// Where a job starts from: a retained checkpoint's or savepoint's path, and the model state at that snapshot.
struct SimJobRestore {
  std::string path;
  KeyValueMap model;
};

enum class MessageKind { kTrigger, kAcknowledge, kDecline, kNotifyComplete, kNotifyAborted };
enum class MessageFate { kDeliver, kDrop, kDuplicate };
struct Message {
  MessageKind kind;
  int64_t checkpoint_id;
  int subtask;
};
using MessageFaultHook = std::function<MessageFate(const Message&)>;

class SimJob : public TaskGateway {
 public:
  static absl::StatusOr<std::unique_ptr<SimJob>> Start(SimJobConfig config, SimScheduler* scheduler,
                                                       SimObjectStore* storage, const Prng& prng,
                                                       std::optional<SimJobRestore> restore = std::nullopt);
  // Kills the coordinator, closes the tasks and drains the remaining activities.
  ~SimJob() override;

  // Record processing: the subtask owning the key's key group updates its value state.
  absl::Status Put(const std::string& key, const std::string& value);
  absl::Status Remove(const std::string& key);
  // Flushes every subtask's memtables (new SST files).
  absl::Status Flush();
  // Compacts every subtask's DB into new SST files (the old ones leave the live set).
  absl::Status Compact();

  // Triggers and waits (virtual time passes; other activities run).
  CheckpointCoordinator::Result Checkpoint(CheckpointKind kind = CheckpointKind::kCheckpoint);
  CheckpointCoordinator::Result Savepoint(SavepointFormat format, bool synchronous = false);

  // Every subtask restarts from the latest completed checkpoint (or empty), on the same machines.
  absl::Status FailoverTasks();
  // `subtask`'s machine loses power: its disk keeps only what was synced, its task manager (and local state
  // store) is gone. Then every subtask restarts.
  absl::Status CrashMachine(int subtask);
  // The coordinator dies; a new one recovers the store from checkpoint storage; every subtask restarts.
  absl::Status FailoverCoordinator();
  // Ends the job: tasks closed, coordinator shut down with `status` (retained checkpoints stay).
  void Stop(JobStatus status);

  void SetMessageFaultHook(MessageFaultHook hook) { message_fault_hook_ = std::move(hook); }

  // The model: the current logical state, and the state at checkpoint `id` (an error if the job never recorded
  // every subtask's part of it).
  const KeyValueMap& Model() const { return model_; }
  absl::StatusOr<KeyValueMap> ModelAt(int64_t checkpoint_id) const;
  // What the running subtasks hold, read from their backends.
  absl::StatusOr<KeyValueMap> ActualState();

  CheckpointCoordinator& coordinator() { return *coordinator_; }
  const SimJobConfig& config() const { return config_; }
  std::string checkpoint_root() const { return config_.checkpoints_directory + "/" + config_.job_id; }
  KeyedStateTask* task(int subtask) { return subtasks_[subtask]->task.get(); }
  TaskLocalStateStore* local_state_store(int subtask) { return subtasks_[subtask]->local_store.get(); }
  SimMachine& machine(int subtask) { return *subtasks_[subtask]->machine; }
  // Paths every retained checkpoint of this job references, and the store's records.
  std::set<std::string> ReferencedPaths();
  // Files the checker must accept as left behind, with the reason: what tasks acknowledged for checkpoints a
  // coordinator had pending when it died (no coordinator will ever know them; Flink leaves them too).
  const std::map<std::string, std::string>& AcceptedOrphans() const { return accepted_orphans_; }

  // TaskGateway.
  std::optional<std::vector<int64_t>> RunningAttempts() override;
  void TriggerCheckpoint(int subtask, int64_t attempt, int64_t checkpoint_id,
                         const CheckpointOptions& options) override;
  void NotifyCheckpointComplete(int subtask, int64_t checkpoint_id, int64_t last_subsumed_id) override;
  void NotifyCheckpointAborted(int subtask, int64_t checkpoint_id, int64_t latest_completed_id) override;

 private:
  struct Subtask {
    explicit Subtask(SimScheduler* scheduler) : mailbox(*scheduler) {}
    int index = 0;
    KeyGroupRange range;
    std::string instance_path;
    std::unique_ptr<SimMachine> machine;
    std::unique_ptr<TaskLocalStateStore> local_store;
    // Serializes record processing, snapshots' synchronous parts, notifications and restarts (the task thread).
    RuntimeMutex mailbox;
    int64_t attempt = 0;
    bool running = false;
    std::unique_ptr<KeyedStateTask> task;
  };

  SimJob(SimJobConfig config, SimScheduler* scheduler, SimObjectStore* storage, const Prng& prng);

  absl::Status CreateCoordinator();
  // Closes every task and deploys new attempts restored from `checkpoint` (null: empty state).
  absl::Status RestartTasks(std::shared_ptr<const CompletedCheckpoint> checkpoint);
  void StopTask(Subtask& subtask);
  absl::Status DeployTask(Subtask& subtask, std::shared_ptr<const CompletedCheckpoint> checkpoint);
  // Sends `deliver` as a message: after a latency, through the fault hook, as its own activity.
  void Send(const Message& message, std::function<void()> deliver);
  int SubtaskOf(const std::string& key) const;
  void HandleTrigger(int subtask, int64_t attempt, int64_t checkpoint_id, const CheckpointOptions& options,
                     std::shared_ptr<CheckpointCoordinator> coordinator);

  const SimJobConfig config_;
  SimScheduler* scheduler_;
  SimObjectStore* storage_;
  Prng prng_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  InMemoryCheckpointIdCounter counter_;
  std::shared_ptr<CheckpointCoordinator> coordinator_;
  std::vector<std::unique_ptr<Subtask>> subtasks_;
  MessageFaultHook message_fault_hook_;
  KeyValueMap model_;
  // checkpoint id -> subtask (-1: the whole restored snapshot) -> its part of the model.
  std::map<int64_t, std::map<int, KeyValueMap>> model_at_;
  bool stopped_ = false;
  // Acknowledged files per coordinator and checkpoint, until the checkpoint ends (for the orphan accounting).
  std::map<const CheckpointCoordinator*, std::map<int64_t, std::vector<std::string>>> acknowledged_files_;
  std::map<std::string, std::string> accepted_orphans_;
  void AcceptOrphans(const std::vector<std::string>& paths, int64_t checkpoint_id);
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_SIM_JOB_H_
