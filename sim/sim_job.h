// The simulated job: a checkpoint coordinator and P subtasks of a chain of 1-N keyed operators, each subtask a
// KeyedStateTask (one backend per operator) on its own simulated machine (task manager) with its task-local state
// store, all sharing the simulated object store as checkpoint storage. Messages between coordinator and tasks are
// activities with latency drawn from the seed, and pass a fault hook (drop, duplicate). Restarts: task failover,
// machine crash (its local disk and task manager lost), coordinator failover (store recovered from storage), and
// stop then resume from a retained checkpoint or savepoint with another configuration (see Start's `restore`).
//
// The job also keeps the model: the logical state the driver wrote (one entry per value, list and map entry of its
// four states, see ModelKey), and its content at each checkpoint as each subtask took its synchronous snapshot.
// After any restore the model becomes the restored checkpoint's, so ActualState() == Model() is DESIGN.md's
// restore-equality invariant.
//
// For the checker (scenarios/checker.h) the job logs what it saw happen (JobEvent: deployments, snapshots started,
// acknowledgements sent, completions delivered); a scenario scripts the fate of single messages (MessageRule:
// drop, duplicate, delay, hold until released, reorder) and can kill a machine hard: its process stops at once,
// nothing it does afterwards reaches storage or its disk, so an upload in flight stays as far as it got.
#ifndef SNAPSIM_SIM_SIM_JOB_H_
#define SNAPSIM_SIM_SIM_JOB_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend/cancellation.h"
#include "sim/decision_log.h"
#include "sim/prng.h"
#include "sim/sim_machine.h"
#include "sim/sim_object_store.h"
#include "sim/job_world.h"
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
  // Chained keyed operators per task, each with its own backend and states (ChainedOperatorId(0..N-1)).
  int operators = 1;
  // Flink's state.backend.incremental.
  bool incremental = true;
  bool local_recovery = false;
  RestoreMode restore_mode = RestoreMode::kNoClaim;
  int64_t checkpoint_interval_micros = 0;
  int64_t checkpoint_timeout_micros = 60'000'000;
  // Flink's execution.checkpointing.min-pause: a periodic checkpoint waits this long after the last completion.
  int64_t min_pause_micros = 0;
  int max_concurrent_checkpoints = 1;
  int num_retained = 1;
  CheckpointRetention retention = CheckpointRetention::kRetainOnCancellation;
  int upload_threads = 2;
  // State streams of at most this many bytes become inline state (Flink's state.storage.fs.memory-threshold); 0: never.
  uint64_t inline_threshold = 0;
  int64_t message_latency_micros_max = 2000;
  // Flink's fixed-delay restart strategy: a deployment (a restore) or a coordinator recovery that fails is tried
  // again, up to this many times in all.
  int restart_attempts = 5;
  // Flink's execution.checkpointing.tolerable-failed-checkpoints (-1: unlimited; see checkpoint_coordinator.h).
  int tolerable_failed_checkpoints = -1;
};

// Where a job starts from: a retained checkpoint's or savepoint's path, and the model state at that snapshot.
struct SimJobRestore {
  std::string path;
  KeyValueMap model;
};

// The job's keyed states: name and kind. Every subtask registers all of them.
struct JobState {
  const char* name;
  StateKind kind;
};
inline constexpr JobState kJobStates[] = {
    {"value", StateKind::kValue}, {"value2", StateKind::kValue}, {"list", StateKind::kList}, {"map", StateKind::kMap}};
// kJobStates as meta infos, for KeyedStateBackend::RegisterStates (one column family creation for all).
std::vector<StateMetaInfo> JobStateMetaInfos();

// The model's key of one entry: the bare record key for state "value" of operator 0 (so simple tests read
// naturally), else "<state>\x1f<key>" and, for a map entry, "\x1f<user key>"; operator k > 0 prefixes
// "<k>\x1d". A list's model value is its elements joined by '\x1e'.
std::string ModelKey(absl::string_view state, absl::string_view key, absl::string_view user_key = "", int op = 0);
// The record key of a model key (what decides the subtask).
std::string RecordKeyOfModelKey(absl::string_view model_key);
// The operator a model key belongs to.
int OperatorOfModelKey(absl::string_view model_key);
// "list/k1", "map/k1/u", "op1:value/k1": for messages.
std::string DescribeModelKey(absl::string_view model_key);
std::string DescribeModelValue(absl::string_view value);
// Every entry of the job's states in operator `op`'s `backend`, over all `max_parallelism` key groups (state
// outside the backend's range is a restore bug and must show), in the model's form. An entry that does not decode
// is an error.
absl::StatusOr<KeyValueMap> ReadJobStates(KeyedStateBackend& backend, int max_parallelism, int op = 0);
// Every operator's, in the model's form.
absl::StatusOr<KeyValueMap> ReadTaskStates(KeyedStateTask& task, int max_parallelism);

// One write to the job's state.
struct StateWrite {
  enum class Operation { kPut, kClear, kAppend, kMapPut, kMapRemove };
  Operation operation = Operation::kPut;
  std::string state = "value";
  std::string key;
  std::string user_key;
  std::string value;
  // The chained operator whose state it is.
  int op = 0;
};

// kTaskFailed: a task tells the job master it failed (Flink's updateTaskExecutionState); never faulted or scripted (no
// scenario `message kind=` names it): it only keeps its channel's order, after the task's decline.
enum class MessageKind { kTrigger, kAcknowledge, kDecline, kNotifyComplete, kNotifyAborted, kTaskFailed };
absl::string_view MessageKindName(MessageKind kind);
enum class MessageFate { kDeliver, kDrop, kDuplicate };
struct Message {
  MessageKind kind;
  int64_t checkpoint_id;
  int subtask;
  // An acknowledgement's files in storage: if the message is lost, no coordinator ever learns of them (Flink leaves
  // them too), so the job accepts them as orphans.
  std::vector<std::string> files;
};
using MessageFaultHook = std::function<MessageFate(const Message&)>;

// A scripted fate for the next `count` messages of `kind` to or from `subtask` (-1: any) about `checkpoint_id`
// (-1: any). Rules are consulted in the order added, before the fault hook.
struct MessageRule {
  enum class Action { kDrop, kDuplicate, kDelay, kHold, kReorder };
  Action action = Action::kDrop;
  MessageKind kind = MessageKind::kTrigger;
  int subtask = -1;
  int64_t checkpoint_id = -1;
  int64_t delay_micros = 0;
  int count = 1;
};

// What the job saw happen, in order, for the checker.
struct JobEvent {
  enum class Kind {
    // A subtask attempt started: restored from `checkpoint_id` (-1: empty), from its local copy or not.
    kDeployed,
    // The synchronous part of a snapshot ran (`options` says checkpoint, full checkpoint or savepoint).
    kSnapshotStarted,
    // The task sent its acknowledgement with `handle`.
    kAcknowledged,
    // A completion notification reached the running attempt.
    kCompleteDelivered,
    // An abort notification reached the running attempt; it carries `latest_completed_id` (a confirmation too).
    kAbortDelivered,
    // Deploying a subtask attempt or recovering the coordinator failed and the restart strategy tries again;
    // `error` says why. Only an injected fault may cause it (the checker's invariant 0), or another subtask's failed
    // deployment that cancelled this one (`cancelled`).
    kRestartFailed,
    // An operator's snapshot finished with `handle`, but the task's failed (another operator's did) and discarded
    // it; its strategy still recorded the uploads.
    kSnapshotDiscarded,
    // The task's snapshot `checkpoint_id` failed (one event per operator, after any kSnapshotDiscarded): its
    // outcome is known.
    kSnapshotFailed,
    // `subtask`'s task-local store stored and persisted its local snapshot of `checkpoint_id`.
    kLocalStored,
    // `subtask`'s task manager died with its task-local store (crash how=graceful|hard); `files`: what was on its
    // machine's disk right after, which no later process looks at.
    kMachineLost,
    // `subtask`'s task manager process died and a new one started on the same disk (crash how=restart|reboot);
    // `files`: what was in the subtask's task-local directory then, which the new store reloads.
    kProcessRestarted,
  };
  Kind kind = Kind::kDeployed;
  int subtask = 0;
  // The chained operator (kDeployed, kSnapshotStarted, kAcknowledged, kSnapshotDiscarded, and the notifications,
  // which reach every operator of the task: one event each).
  int op = 0;
  int64_t attempt = 0;
  int64_t checkpoint_id = -1;
  int64_t latest_completed_id = -1;
  CheckpointOptions options;
  std::optional<KeyedStateHandle> handle;
  // kDeployed.
  std::vector<KeyedStateHandle> restored_handles;
  bool restored_from_local_state = false;
  // Why a matching local copy was not restored (storage's was), or "".
  std::string local_restore_error;
  // A local copy of `checkpoint_id` for this subtask was in the task-local state store at deployment, with its
  // directory present on disk.
  bool local_copy_available = false;
  // That copy was reloaded by a restarted task manager (RestartMachine), and whether the machine had lost power.
  bool local_copy_reloaded = false;
  bool local_copy_from_before_power_loss = false;
  bool rescaled = false;
  bool local_recovery = false;
  bool incremental = true;
  std::string backend_uid;
  std::string local_directory;
  // kRestartFailed.
  std::string error;
  // kRestartFailed: the attempt did not fail on its own; another subtask's deployment failed and cancelled it (its
  // restore stopped where it was).
  bool cancelled = false;
  // kMachineLost, kProcessRestarted.
  std::vector<std::string> files;
  // kLocalStored: the chained operators the local snapshot has a copy of (a copy is best effort).
  std::vector<int> operators;
};

// The checkpoint storage as one task manager process sees it: forwards to the shared store until the process is
// killed; from then on every call fails (a dead process reaches nothing), and a stream it had open never
// finishes. Remembers every object the process started writing, for the orphan accounting of a hard kill (an
// upload in flight at the kill may still commit: the storage had the request).
class ProcessStorage : public CheckpointStorage {
 public:
  explicit ProcessStorage(CheckpointStorage* storage) : storage_(storage) {}
  void Kill() { *dead_ = true; }
  std::shared_ptr<const std::atomic<bool>> dead_flag() const { return dead_; }
  bool dead() const { return *dead_; }
  std::vector<std::string> WrittenPaths() const;

  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> Create(const std::string& path) override;
  absl::StatusOr<std::string> Read(const std::string& path) override;
  absl::Status Delete(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& prefix) override;
  absl::StatusOr<bool> Exists(const std::string& path) override;
  absl::StatusOr<StoredObjectInfo> Stat(const std::string& path) override;

 private:
  absl::Status CheckAlive(absl::string_view what, const std::string& path) const;

  CheckpointStorage* storage_;
  std::shared_ptr<std::atomic<bool>> dead_ = std::make_shared<std::atomic<bool>>(false);
  // Uploads run in parallel (real threads under --fs=posix).
  mutable std::mutex written_mutex_;
  std::vector<std::string> written_;
};

class SimJob : public TaskGateway, public CheckpointDecisionListener {
 public:
  // On any world (simulated, or real disk with real threads). The world must outlive the job.
  static absl::StatusOr<std::unique_ptr<SimJob>> Start(SimJobConfig config, JobWorld* world, const Prng& prng,
                                                       std::optional<SimJobRestore> restore = std::nullopt);
  // In the simulated world made of `scheduler` and `storage`.
  static absl::StatusOr<std::unique_ptr<SimJob>> Start(SimJobConfig config, SimScheduler* scheduler,
                                                       SimObjectStore* storage, const Prng& prng,
                                                       std::optional<SimJobRestore> restore = std::nullopt);
  // Kills the coordinator, closes the tasks and drains the remaining activities.
  ~SimJob() override;
  // For a stopped job: sends its held messages and runs until its activities are done (the first half of the
  // destructor), so AcceptedOrphans() then holds every orphan it will ever accept (a late acknowledgement dropped
  // after the stop included).
  void Drain();

  // Record processing: the subtask owning the key's key group updates its value state "value".
  absl::Status Put(const std::string& key, const std::string& value);
  absl::Status Remove(const std::string& key);
  // Any write to any of the job's states.
  absl::Status Write(const StateWrite& write);
  // Flushes every subtask's memtables (new SST files).
  absl::Status Flush();
  // Compacts every subtask's DB into new SST files (the old ones leave the live set).
  absl::Status Compact();

  // Triggers and waits (virtual time passes; other activities run).
  CheckpointCoordinator::Result Checkpoint(CheckpointKind kind = CheckpointKind::kCheckpoint);
  CheckpointCoordinator::Result Savepoint(SavepointFormat format, bool synchronous = false);
  // A user's request (a scenario step's), logged for the decision model; the future ends with the snapshot.
  Future<CheckpointCoordinator::Result> RequestCheckpoint(CheckpointKind kind = CheckpointKind::kCheckpoint);
  Future<CheckpointCoordinator::Result> RequestSavepoint(SavepointFormat format, bool synchronous = false);
  // Stops periodic triggering and aborts what is pending (logged).
  void StopCheckpointScheduler();

  int operators() const { return config_.operators; }
  // Every subtask restarts from the latest completed checkpoint (or empty), on the same machines.
  absl::Status FailoverTasks();
  // `subtask`'s machine loses power: its disk keeps only what was synced, its task manager (and local state
  // store) is gone. Then every subtask restarts.
  absl::Status CrashMachine(int subtask);
  // The coordinator dies; a new one recovers the store from checkpoint storage; every subtask restarts.
  absl::Status FailoverCoordinator();
  // `subtask`'s machine dies at once: no cleanup at all (its task is not closed; anything it does from now on
  // fails without effect on storage or disk; files it had written stay, and are accepted as orphans with that
  // reason where nothing references them). Then every subtask restarts.
  absl::Status KillMachine(int subtask);
  // `subtask`'s task manager process dies hard (as KillMachine: no cleanup) and a new one starts on the same machine
  // with the same working directory (Flink's FLIP-198). `power_loss` false: the process alone died, the disk kept
  // everything; true: the machine lost power and rebooted, the disk kept what was synced. The new process's task-local
  // store reloads the local snapshots the disk kept. Then every subtask restarts.
  absl::Status RestartMachine(int subtask, bool power_loss);
  // Ends the job: tasks closed, local state stores disposed, coordinator shut down with `status` (retained
  // checkpoints stay).
  void Stop(JobStatus status);
  bool stopped() const { return stopped_; }
  // When tasks sent their acknowledgements of `checkpoint_id` and when they reached a living coordinator (virtual
  // time; -1: none did): the liveness step tells a checkpoint that expired while its tasks were still working, or
  // while an acknowledgement was on its way, from one a task finished in time.
  struct AcknowledgementTimes {
    int64_t first_sent = -1;
    int64_t last_sent = -1;
    int64_t last_delivered = -1;  // to a living coordinator
    int sent = 0;
    int delivered = 0;
  };
  AcknowledgementTimes Acknowledgements(int64_t checkpoint_id) const {
    std::lock_guard<std::mutex> lock(state_mutex_);
    auto found = acknowledgement_micros_.find(checkpoint_id);
    return found == acknowledgement_micros_.end() ? AcknowledgementTimes{} : found->second;
  }
  // A task that failed on its own (a write, flush or compaction its backend refused, or a snapshot's synchronous
  // part that failed: Flink fails the task then) stays failed, refusing records with its cause, until the job
  // restarts its tasks; this returns the first cause since the last restart ("subtask N failed: ...") and forgets
  // it. The caller restarts the tasks (FailoverTasks), as Flink's job master does on a task failure.
  std::optional<absl::Status> TakeTaskFailure();
  // A failover the coordinator asked for (TaskGateway::FailJob: too many checkpoints failed in a row, or a task
  // declined a synchronous savepoint), once; forgotten by any restart. The caller restarts the tasks.
  std::optional<absl::Status> TakeFailoverRequest();

  void SetMessageFaultHook(MessageFaultHook hook);
  // From now on, draws from a stream of `seed` instead (`snapsim explain`: the rest of a run redrawn, its prefix
  // replayed exactly).
  void Reseed(uint64_t seed);
  void AddMessageRule(MessageRule rule) {
    std::lock_guard<std::mutex> lock(state_mutex_);
    message_rules_.push_back(rule);
  }
  void ClearMessageRules() {
    std::lock_guard<std::mutex> lock(state_mutex_);
    message_rules_.clear();
  }
  // Sends messages held by kHold rules for `kind` and `subtask` (-1: any); returns how many.
  int ReleaseHeldMessages(MessageKind kind, int subtask);
  // Sends every held message (kHold and kReorder still waiting for a successor).
  int ReleaseAllHeldMessages();
  std::vector<JobEvent> TakeEvents() {
    std::lock_guard<std::mutex> lock(state_mutex_);
    return std::exchange(events_, {});
  }
  // The decision log since the last call (sim/decision_log.h).
  std::vector<DecisionEvent> TakeDecisionEvents() {
    std::lock_guard<std::mutex> lock(state_mutex_);
    return std::exchange(decision_events_, {});
  }

  // The model: the current logical state, and the state at checkpoint `id` (an error if the job never recorded
  // every subtask's part of it).
  const KeyValueMap& Model() const { return model_; }
  absl::StatusOr<KeyValueMap> ModelAt(int64_t checkpoint_id) const;
  // What the running subtasks hold, read from their backends.
  absl::StatusOr<KeyValueMap> ActualState();
  // What one subtask holds, in every key group (state outside its range is a restore bug and must show).
  absl::StatusOr<KeyValueMap> ActualStateOf(int subtask);
  // The entries of `model` whose record key belongs to `subtask`.
  KeyValueMap ModelPartOf(const KeyValueMap& model, int subtask) const;
  int parallelism() const { return config_.parallelism; }
  const KeyGroupRange& range_of(int subtask) const { return subtasks_[subtask]->range; }
  int64_t attempt_of(int subtask) const { return subtasks_[subtask]->attempt; }
  // The restored snapshot this job started from ("" if none) and its restore mode.
  const std::string& restored_pointer() const { return restored_pointer_; }

  CheckpointCoordinator& coordinator() { return *coordinator_; }
  const SimJobConfig& config() const { return config_; }
  std::string checkpoint_root() const { return config_.checkpoints_directory + "/" + config_.job_id; }
  KeyedStateTask* task(int subtask) { return subtasks_[subtask]->task.get(); }
  // Reads every stored object through `visit(path)`; the scheduler's store (for the checker).
  InspectableStorage& storage() { return *storage_; }
  JobWorld& world() { return *world_; }
  TaskLocalStateStore* local_state_store(int subtask) { return subtasks_[subtask]->local_store.get(); }
  std::string local_state_directory(int subtask) const { return LocalStateDirectory(*subtasks_[subtask]); }
  JobMachine& machine(int subtask) { return *subtasks_[subtask]->machine; }
  // Paths every retained checkpoint of this job references, the store's records, and the paths of subsumed
  // checkpoints the cleaner keeps while their files are still in use, and the files of acknowledgements held in
  // flight.
  std::set<std::string> ReferencedPaths();
  // Files the checker must accept as left behind, with the reason: what tasks acknowledged for checkpoints a
  // coordinator had pending when it died (no coordinator will ever know them; Flink leaves them too). A file accepted
  // again keeps the latest reason: the checker judges whether a live snapshot referenced it after that.
  std::map<std::string, std::string> AcceptedOrphans() const {
    std::lock_guard<std::mutex> lock(state_mutex_);
    return accepted_orphans_;
  }

  // TaskGateway.
  std::optional<std::vector<int64_t>> RunningAttempts() override;
  void TriggerCheckpoint(int subtask, int64_t attempt, int64_t checkpoint_id,
                         const CheckpointOptions& options) override;
  void NotifyCheckpointComplete(int subtask, int64_t checkpoint_id, int64_t last_subsumed_id) override;
  void NotifyCheckpointAborted(int subtask, int64_t checkpoint_id, int64_t latest_completed_id) override;
  void FailJob(const absl::Status& cause) override;

  // CheckpointDecisionListener: the coordinator's decisions go into the decision log.
  void OnSchedulerStarted(int64_t time_micros) override;
  void OnSchedulerStopped(int64_t time_micros) override;
  void OnPeriodicRequest(int64_t time_micros) override;
  void OnRequestRejected(CheckpointFailureReason reason, bool periodic, CheckpointKind kind,
                         int64_t time_micros) override;
  void OnTriggered(int64_t checkpoint_id, CheckpointKind kind, bool periodic, int64_t time_micros) override;
  void OnCompleted(int64_t checkpoint_id, int64_t time_micros) override;
  void OnAborted(int64_t checkpoint_id, CheckpointFailureReason reason, bool task_level, const std::string& detail,
                 int64_t time_micros) override;

 private:
  struct Subtask {
    explicit Subtask(Runtime* runtime) : mailbox(*runtime) {}
    int index = 0;
    // The storage the task sees: cut off when its machine is killed hard.
    std::unique_ptr<ProcessStorage> storage;
    KeyGroupRange range;
    std::string instance_path;
    std::unique_ptr<JobMachine> machine;
    std::unique_ptr<TaskLocalStateStore> local_store;
    // Local snapshots the store reloaded after a restart: checkpoint -> whether the machine had lost power.
    std::map<int64_t, bool> reloaded_local;
    // The local snapshots the store held when its process last died on a kept disk (RestartMachine).
    std::map<int64_t, TaskLocalSnapshot> held_before_restart;
    // Serializes record processing, snapshots' synchronous parts, notifications and restarts (the task thread).
    RuntimeMutex mailbox;
    // Written under `mailbox`; atomic because the coordinator reads them from its own thread (RunningAttempts)
    // and message deliveries compare them before taking the mailbox (on real threads, --fs=posix).
    std::atomic<int64_t> attempt{0};
    std::atomic<bool> running{false};
    std::unique_ptr<KeyedStateTask> task;
    // Why this attempt failed (OK while it has not); written under `mailbox`.
    absl::Status failure;
  };
  // Records that `subtask`'s attempt failed with `cause` (REQUIRES: its mailbox held); returns what to report.
  absl::Status FailTask(Subtask& subtask, const absl::Status& cause);
  std::optional<absl::Status> task_failure_;
  std::optional<absl::Status> failover_request_;
  // The job master's reaction to a failed task or a failover the coordinator asked for, at once as Flink's job
  // status turns RESTARTING: periodic triggering stops and what is pending is aborted (CHECKPOINT_COORDINATOR_SUSPEND).
  // The restart itself is the caller's (TakeTaskFailure, TakeFailoverRequest). Skipped when a restart came first.
  void EnterRestarting();
  // Serializes the job master's actions (Flink's job master main thread): restarts, stops, EnterRestarting.
  RuntimeMutex job_master_;
  // Counts restarts and stops: EnterRestarting does nothing once a newer one began.
  uint64_t restart_epoch_ = 0;
  // Restarts the tasks from the latest checkpoint. REQUIRES: job_master_ held.
  absl::Status FailoverTasksLocked();

  // The decision log. Calls into the coordinator are logged when they begin and when they end.
  void LogDecision(DecisionEvent event);
  uint64_t BeginCall(DecisionEvent::Call call, DecisionEvent details = {});
  void EndCall(DecisionEvent::Call call, uint64_t call_id);
  // To the coordinator of `generation` (a message sent to a coordinator that died meanwhile still reaches it).
  void LogDecisionTo(int generation, DecisionEvent event);
  uint64_t BeginCallTo(int generation, DecisionEvent::Call call, DecisionEvent details);
  void EndCallTo(int generation, DecisionEvent::Call call, uint64_t call_id);
  std::vector<DecisionEvent> decision_events_;
  uint64_t next_call_id_ = 1;
  int coordinator_generation_ = 0;
  SimJob(SimJobConfig config, JobWorld* world, const Prng& prng);
  static absl::StatusOr<std::unique_ptr<SimJob>> Start(SimJobConfig config, JobWorld* world, const Prng& prng,
                                                       std::optional<SimJobRestore> restore,
                                                       std::unique_ptr<JobWorld> owned_world);

  absl::Status CreateCoordinator();
  // Closes every task and deploys new attempts restored from `checkpoint` (null: empty state).
  absl::Status RestartTasks(std::shared_ptr<const CompletedCheckpoint> checkpoint);
  void StopTask(Subtask& subtask);
  // Kills `killed`'s task manager process without cleanup; a new process (storage view, empty local store) takes its
  // place. `disk_kept`: the machine's disk survived, so the dead process's instance directory can be deleted.
  void KillProcess(Subtask& killed, bool disk_kept);
  // The subtask's local-recovery directory on its machine (LocalRecoveryConfig::subtask_directory).
  std::string LocalStateDirectory(const Subtask& subtask) const;
  // A task-local store for the subtask's (new) task manager process, reporting what it stores (kLocalStored).
  std::unique_ptr<TaskLocalStateStore> NewLocalStore(Subtask& subtask);
  // kMachineLost for `subtask`'s machine, with what its disk holds now.
  void ReportMachineLost(Subtask& subtask);
  // Deploys every subtask's next attempt at once (at most kConcurrentDeployments at a time); the first that fails
  // cancels the others (a restore in progress stops). Returns the first failure that was not a cancellation. Each
  // failed or cancelled attempt is a kRestartFailed event. `attempt` counts the restart strategy's tries.
  absl::Status DeployTasks(std::shared_ptr<const CompletedCheckpoint> checkpoint, int attempt);
  static constexpr int kConcurrentDeployments = 16;
  absl::Status DeployTask(Subtask& subtask, std::shared_ptr<const CompletedCheckpoint> checkpoint,
                          std::shared_ptr<const CancellationToken> cancellation);
  // Sends `deliver` as a message: after a latency, through the fault hook, as its own activity.
  void Send(const Message& message, std::function<void()> deliver);
  // `fifo`: the message keeps its channel's order (a message no fault touched).
  void Dispatch(const Message& message, std::function<void()> deliver, int copies, int64_t extra_latency_micros,
                bool fifo = false);
  void Lost(const Message& message);
  void PushEvent(JobEvent event) {
    std::lock_guard<std::mutex> lock(state_mutex_);
    events_.push_back(std::move(event));
  }
  // One copy of `event` per chained operator (its `op` set, then `complete` applied), in chain order.
  void PushEventPerOperator(const JobEvent& event, int operators,
                            const std::function<void(JobEvent&)>& complete = nullptr) {
    for (int op = 0; op < operators; ++op) {
      JobEvent each = event;
      each.op = op;
      if (complete) complete(each);
      PushEvent(std::move(each));
    }
  }
  int SubtaskOf(const std::string& key) const;
  // Logs what `subtask`'s task discarded of snapshot `checkpoint_id` (kSnapshotDiscarded per operator).
  void ReportDiscarded(DiscardedSnapshotLog& log, int64_t checkpoint_id, int subtask, int64_t attempt);
  // `generation`: the coordinator that triggered it (its decision log).
  void HandleTrigger(int subtask, int64_t attempt, int64_t checkpoint_id, const CheckpointOptions& options,
                     std::shared_ptr<CheckpointCoordinator> coordinator, int generation);

  const SimJobConfig config_;
  // Set when the job made its own world adapter (the SimScheduler overload of Start).
  std::unique_ptr<JobWorld> owned_world_;
  JobWorld* world_;
  Runtime* runtime_;
  InspectableStorage* storage_;
  // Guards the job's own bookkeeping (model, events, messages, orphans) against real threads (--fs=posix); never
  // held across a call into the runtime, the coordinator or a task.
  mutable std::mutex state_mutex_;
  Prng prng_;
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
  InMemoryCheckpointIdCounter counter_;
  std::shared_ptr<CheckpointCoordinator> coordinator_;
  std::vector<std::unique_ptr<Subtask>> subtasks_;
  MessageFaultHook message_fault_hook_;
  std::vector<MessageRule> message_rules_;
  struct HeldMessage {
    Message message;
    std::function<void()> deliver;
    bool reorder = false;
  };
  std::vector<HeldMessage> held_messages_;
  // FIFO channels, as Flink's RPC connections between the job manager and a task manager are: per subtask and
  // direction, the virtual time the last message not touched by a fault is delivered at. A message sent later is
  // delivered strictly later; only scripted fates (delay, duplicate, reorder, hold) break the order.
  std::map<std::pair<bool, int>, int64_t> channel_last_delivery_;
  // Real threads only: a FIFO channel's messages are delivered in the order sent (sleeps end in any order there).
  struct ChannelTurns {
    std::mutex mutex;
    std::map<std::pair<bool, int>, uint64_t> sent;
    std::map<std::pair<bool, int>, uint64_t> delivered;
  };
  std::shared_ptr<ChannelTurns> channel_turns_ = std::make_shared<ChannelTurns>();
  std::vector<JobEvent> events_;
  // Trigger time of each checkpoint in flight, for its span (trigger to completion or abort).
  std::map<int64_t, int64_t> checkpoint_started_micros_;
  // Guarded by state_mutex_: AcknowledgementMicros().
  std::map<int64_t, AcknowledgementTimes> acknowledgement_micros_;
  void EndCheckpointSpan(int64_t checkpoint_id, absl::string_view outcome);
  std::string restored_pointer_;
  // Processes killed hard: their storage stays cut off; kept alive so late activities find them.
  // Declared before the killed tasks, so destroyed after them (their snapshots point at both).
  std::vector<std::unique_ptr<ProcessStorage>> killed_storage_;
  std::vector<std::unique_ptr<TaskLocalStateStore>> killed_local_stores_;
  std::vector<std::unique_ptr<KeyedStateTask>> killed_tasks_;
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
