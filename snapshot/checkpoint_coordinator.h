// The checkpoint coordinator: triggers checkpoints and savepoints, collects every task's acknowledgement,
// registers shared state at acknowledgement, completes (metadata, store, notifications) or aborts (decline,
// timeout, subsumption, failover), and restores. After Flink's CheckpointCoordinator, PendingCheckpoint and
// CheckpointRequestDecider in the fixed form described in shared/flink/JOBMANAGER_SIDE.md section 4.
//
// Every state change happens under one coordinator-wide RuntimeMutex (Flink's coordinator lock), which may be held
// across storage calls. Messages to tasks go through a TaskGateway and are best effort: the gateway may deliver
// them late, twice or never, and tasks must stay correct. Timers (timeouts, the periodic scheduler) are activities
// that sleep on the runtime's clock; they hold the coordinator weakly.
//
// Deviations, on purpose: registration of an acknowledgement is all or nothing, and a failed registration
// declines its pending checkpoint at once (Flink leaves part of it registered and lets the checkpoint time out);
// an acknowledgement arriving after its checkpoint was aborted, or after the coordinator shut down, has its fresh
// uploads discarded (Flink ignores it after shutdown and leaves them behind);
// the first periodic trigger comes one interval after the start, not at a random delay; the tolerable-failure
// number defaults to unlimited (-1; Flink's default is 0, which fails the job over at the first counted failure),
// and a refused acknowledgement (ACKNOWLEDGED_STATE_REFUSED) is not counted (it has no Flink counterpart).
//
// Tolerable checkpoint failures: checkpoint_failure_manager.h (Flink's CheckpointFailureManager). When it asks for
// a failover, TaskGateway::FailJob asks the job for one.
//
// What the coordinator decides is reported as it decides it to a CheckpointDecisionListener (the harness's model of
// the job manager's decisions judges it; scenarios/decision_model.h).
#ifndef SNAPSIM_SNAPSHOT_CHECKPOINT_COORDINATOR_H_
#define SNAPSIM_SNAPSHOT_CHECKPOINT_COORDINATOR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend/runtime.h"
#include "snapshot/checkpoint_failure_manager.h"
#include "snapshot/checkpoint_failure_reason.h"
#include "snapshot/checkpoint_properties.h"
#include "snapshot/checkpoint_storage.h"
#include "snapshot/completed_checkpoint.h"
#include "snapshot/completed_checkpoint_store.h"
#include "snapshot/io_executor.h"

namespace snapsim {

// What the coordinator decided, in the order it decided it: Flink's CheckpointStatsTracker reports (triggered,
// completed, failed) and what Flink only logs (periodic requests, requests the decider refused, the periodic
// scheduler started and stopped). Called with the coordinator's lock held: record, never call back. Times are the
// runtime's clock.
class CheckpointDecisionListener {
 public:
  virtual ~CheckpointDecisionListener() = default;
  virtual void OnSchedulerStarted(int64_t time_micros) = 0;
  virtual void OnSchedulerStopped(int64_t time_micros) = 0;
  // The periodic scheduler asked for a checkpoint.
  virtual void OnPeriodicRequest(int64_t time_micros) = 0;
  // A request ended before any checkpoint existed (pre-flight, or cancelled while queued).
  virtual void OnRequestRejected(CheckpointFailureReason reason, bool periodic, CheckpointKind kind,
                                 int64_t time_micros) = 0;
  virtual void OnTriggered(int64_t checkpoint_id, CheckpointKind kind, bool periodic, int64_t time_micros) = 0;
  virtual void OnCompleted(int64_t checkpoint_id, int64_t time_micros) = 0;
  // `task_level`: a task reported the failure (a decline).
  virtual void OnAborted(int64_t checkpoint_id, CheckpointFailureReason reason, bool task_level,
                         const std::string& detail, int64_t time_micros) = 0;
};

struct CheckpointCoordinatorConfig {
  std::string job_id;
  // "<checkpoints directory>/<job id>": shared/, chk-<id>/ and the store's records (ha/) live here.
  std::string checkpoint_root;
  // Where savepoints go: "<savepoint root>/savepoint-<job id prefix>-<random>".
  std::string savepoint_root;
  int parallelism = 1;
  int max_parallelism = 128;
  // The IDs of the keyed operators every task runs (chained), in chain order: an acknowledgement carries one
  // state per operator. A snapshot the job starts from may hold state only for these (Flink fails a restore with
  // state for an operator the job does not have, unless told to skip it: allowNonRestoredState, not modelled).
  std::vector<std::string> operator_ids = {ChainedOperatorId(0)};
  // 0: no periodic checkpoints.
  int64_t checkpoint_interval_micros = 0;
  int64_t checkpoint_timeout_micros = 600'000'000;
  int max_concurrent_checkpoints = 1;
  int64_t min_pause_micros = 0;
  int num_retained = 1;
  CheckpointRetention retention = CheckpointRetention::kNeverRetainAfterTermination;
  // The job's restore mode: how a snapshot it starts from, and checkpoints recovered after a failover, are owned.
  RestoreMode restore_mode = RestoreMode::kNoClaim;
  // Keep store records in checkpoint storage, so a new coordinator recovers the store.
  bool high_availability = true;
  // Flink's execution.checkpointing.tolerable-failed-checkpoints; -1: unlimited (see the header).
  int tolerable_failed_checkpoints = -1;
  // Told of every decision (may be null). Must outlive the coordinator.
  CheckpointDecisionListener* listener = nullptr;

  std::string ha_directory() const { return high_availability ? checkpoint_root + "/ha" : std::string(); }
};

struct AcknowledgeCheckpoint {
  int64_t checkpoint_id = 0;
  int subtask = 0;
  int64_t attempt = 0;
  // Per chained operator (index = position in the chain): its keyed state, nullopt for an operator without.
  std::vector<std::optional<KeyedStateHandle>> states;
};

struct DeclineCheckpoint {
  int64_t checkpoint_id = 0;
  int subtask = 0;
  int64_t attempt = 0;
  // Flink's CheckpointException reason, and its cause.
  CheckpointFailureReason failure_reason = CheckpointFailureReason::kCheckpointDeclined;
  absl::Status reason;
};

// The coordinator's view of the running tasks: one-way, best-effort messages.
class TaskGateway {
 public:
  virtual ~TaskGateway() = default;
  // The attempt number of every subtask's running execution, or nullopt if some subtask is not running.
  virtual std::optional<std::vector<int64_t>> RunningAttempts() = 0;
  virtual void TriggerCheckpoint(int subtask, int64_t attempt, int64_t checkpoint_id,
                                 const CheckpointOptions& options) = 0;
  // To the subtask's current execution, if any.
  virtual void NotifyCheckpointComplete(int subtask, int64_t checkpoint_id, int64_t last_subsumed_id) = 0;
  virtual void NotifyCheckpointAborted(int subtask, int64_t checkpoint_id, int64_t latest_completed_id) = 0;
  // The job must fail over (every task restarts from the latest checkpoint): too many checkpoints failed in a row.
  // Called with the coordinator's lock held: record the request, act on it elsewhere.
  virtual void FailJob(const absl::Status& cause) = 0;
};

class CheckpointCoordinator : public std::enable_shared_from_this<CheckpointCoordinator> {
 public:
  using Result = absl::StatusOr<std::shared_ptr<const CompletedCheckpoint>>;

  // Recovers the completed checkpoint store from `config.ha_directory()` (empty on a first start). Fails, deleting
  // nothing, if a record or its metadata cannot be read.
  static absl::StatusOr<std::shared_ptr<CheckpointCoordinator>> Create(CheckpointCoordinatorConfig config,
                                                                       Runtime* runtime, CheckpointStorage* storage,
                                                                       CheckpointIdCounter* counter,
                                                                       TaskGateway* gateway);

  // A manual checkpoint (kCheckpoint: the backend decides incremental or full; kFullCheckpoint: shares nothing).
  Future<Result> TriggerCheckpoint(CheckpointKind kind = CheckpointKind::kCheckpoint);
  // A savepoint; `synchronous` is stop-with-savepoint (it then aborts older checkpoints and notifies tasks).
  Future<Result> TriggerSavepoint(SavepointFormat format, bool synchronous = false);

  void StartCheckpointScheduler();
  // Stops periodic triggering and aborts pending checkpoints.
  void StopCheckpointScheduler();

  void ReceiveAcknowledge(AcknowledgeCheckpoint ack);
  void ReceiveDecline(const DeclineCheckpoint& decline);
  // A job failover: every pending checkpoint is aborted.
  void AbortPendingCheckpoints(CheckpointFailureReason reason);

  // The checkpoint tasks restore from after a failover (null if none); re-arms the forced full snapshot when it is
  // the unclaimed (NO_CLAIM) snapshot.
  Result RestoreLatestCheckpointedState();
  // Starts the job from a retained checkpoint or savepoint at `path` in `mode`; only while the store is empty.
  Result RestoreSavepoint(const std::string& path, RestoreMode mode);

  // Globally terminal: aborts pending checkpoints and discards what the retention policy says. SUSPENDED: deletes
  // nothing.
  void Shutdown(JobStatus status);
  // Process death: nothing more runs and nothing more is deleted; pending timers find a dead coordinator.
  void Kill();

  // Inspection.
  bool killed();
  // After Kill: what this coordinator meant to delete and never will (queued discards, subsumed checkpoints
  // waiting in the cleaner, registry deletions a pending checkpoint deferred). A trailing '/' stands for everything
  // under a directory.
  std::vector<std::string> AbandonedDeletions();
  std::vector<int64_t> PendingCheckpointIds();
  std::vector<std::shared_ptr<CompletedCheckpoint>> RetainedCheckpoints();
  bool force_full_snapshot();
  CompletedCheckpointStore& store() { return *store_; }
  CheckpointsCleaner& cleaner() { return cleaner_; }
  const CheckpointCoordinatorConfig& config() const { return config_; }

  CheckpointCoordinator(CheckpointCoordinatorConfig config, Runtime* runtime, CheckpointStorage* storage,
                        CheckpointIdCounter* counter, TaskGateway* gateway);

 private:
  struct Request {
    CheckpointProperties properties;
    bool periodic = false;
    uint64_t sequence = 0;
    std::shared_ptr<Promise<Result>> promise;
  };
  struct Pending {
    int64_t id = 0;
    int64_t timestamp_micros = 0;
    CheckpointProperties properties;
    CheckpointOptions options;
    std::vector<int64_t> attempts;
    std::vector<bool> acknowledged;
    int num_acknowledged = 0;
    // [subtask][operator].
    std::vector<std::vector<std::optional<KeyedStateHandle>>> states;
    bool disposed = false;
    std::shared_ptr<Promise<Result>> promise;
  };

  // All REQUIRE mutex_ held.
  Future<Result> Enqueue(CheckpointProperties properties, bool periodic);
  void TriggerQueuedRequests();
  void StartTriggering(Request request);
  void CompletePending(const std::shared_ptr<Pending>& pending);
  // Flink's abortPendingCheckpoint: disposes it, tells the failure manager (`task_level`: a task reported it) and the
  // tasks, and fails its promise.
  void AbortPending(const std::shared_ptr<Pending>& pending, CheckpointFailureReason reason,
                    const std::string& detail, bool task_level = false);
  void AbortAllPending(CheckpointFailureReason reason);
  // A failed checkpoint or savepoint: the failure manager counts it; a failover it asks for goes to the gateway.
  void HandleCheckpointFailure(const Pending& pending, CheckpointFailureReason reason, bool task_level,
                               const std::string& detail);
  // The periodic trigger's period: max(interval, min pause), as Flink's constructor normalizes it.
  int64_t BaseInterval() const;
  // (Re)starts the periodic trigger: the first request at `first_due_micros`, then one every base interval.
  void SchedulePeriodicTrigger(int64_t first_due_micros);
  // A request that ends before any checkpoint exists.
  void RejectRequest(const Request& request, CheckpointFailureReason reason, absl::StatusCode code);
  void DiscardAcknowledgedState(std::vector<std::optional<KeyedStateHandle>> states, bool registered);
  bool dead() const { return killed_ || shut_down_; }
  // A callback for the cleaner: triggers queued requests once a discard is done.
  std::function<void()> ScheduleTriggerRequest();

  const CheckpointCoordinatorConfig config_;
  Runtime* runtime_;
  CheckpointStorage* storage_;
  CheckpointIdCounter* counter_;
  TaskGateway* gateway_;
  IoExecutor executor_;
  CheckpointsCleaner cleaner_;
  std::unique_ptr<CompletedCheckpointStore> store_;

  RuntimeMutex mutex_;
  bool killed_ = false;
  bool shut_down_ = false;
  bool force_full_snapshot_ = false;
  bool periodic_running_ = false;
  uint64_t periodic_generation_ = 0;
  uint64_t next_request_sequence_ = 0;
  int64_t last_completion_micros_ = -1;
  CheckpointFailureManager failure_manager_;
  std::vector<Request> queue_;
  std::map<int64_t, std::shared_ptr<Pending>> pending_;
  // Completed checkpoints, and completed savepoints: a later acknowledgement for one of them is a duplicate whose
  // files belong to a completed checkpoint or to the user, never to be registered or discarded. An aborted
  // savepoint is in neither: its late acknowledgements are discarded.
  std::set<int64_t> completed_ids_;
  std::set<int64_t> savepoint_ids_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_CHECKPOINT_COORDINATOR_H_
