// The simulated job, job manager side: starting and stopping the job, its checkpoint coordinator and the
// listener that logs its decisions, task and coordinator failovers, restarts, and the model the checker reads.
// The task manager side is sim_job_tasks.cc; the messages between them sim_job_messages.cc.
#include "sim/sim_job.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "backend/list_merge_operator.h"
#include "backend/local_files.h"
#include "sim/sim_job_internal.h"
#include "snapshot/parallel_transfers.h"

namespace snapsim {

using sim_job_internal::RestartEpoch;
namespace {

// The calling activity works for `part` until the scope ends; what it spawns meanwhile inherits it (the trace's
// processes, trace.h): the job's coordinator-side calls from the scenario's steps are the coordinator's work.
class PartScope {
 public:
  PartScope(JobWorld* world, absl::string_view part) : world_(world), previous_(world->part()) {
    world_->SetPart(part);
  }
  ~PartScope() { world_->SetPart(previous_); }
  PartScope(const PartScope&) = delete;
  PartScope& operator=(const PartScope&) = delete;

 private:
  JobWorld* world_;
  std::string previous_;
};

std::string KindName(CheckpointKind kind) {
  switch (kind) {
    case CheckpointKind::kCheckpoint:
      return "checkpoint";
    case CheckpointKind::kFullCheckpoint:
      return "full-checkpoint";
    case CheckpointKind::kSavepoint:
      return "savepoint";
    case CheckpointKind::kSyncSavepoint:
      return "sync-savepoint";
  }
  return "?";
}

}  // namespace

SimJob::SimJob(SimJobConfig config, JobWorld* world, const Prng& prng)
    : job_master_(world->runtime()),
      config_(std::move(config)),
      world_(world),
      runtime_(&world->runtime()),
      storage_(&world->storage()),
      prng_(prng.Child("job")) {}

absl::StatusOr<std::unique_ptr<SimJob>> SimJob::Start(SimJobConfig config, SimScheduler* scheduler,
                                                      SimObjectStore* storage, const Prng& prng,
                                                      std::optional<SimJobRestore> restore) {
  auto world = std::make_unique<SimWorld>(scheduler, storage);
  JobWorld* borrowed = world.get();
  absl::StatusOr<std::unique_ptr<SimJob>> job = Start(std::move(config), borrowed, prng, std::move(restore),
                                                      std::move(world));
  return job;
}

absl::StatusOr<std::unique_ptr<SimJob>> SimJob::Start(SimJobConfig config, JobWorld* world, const Prng& prng,
                                                      std::optional<SimJobRestore> restore) {
  return Start(std::move(config), world, prng, std::move(restore), nullptr);
}

absl::StatusOr<std::unique_ptr<SimJob>> SimJob::Start(SimJobConfig config, JobWorld* world, const Prng& prng,
                                                      std::optional<SimJobRestore> restore,
                                                      std::unique_ptr<JobWorld> owned_world) {
  if (config.parallelism <= 0 || config.parallelism > config.max_parallelism) {
    return absl::InvalidArgumentError(absl::StrCat("parallelism ", config.parallelism, " must be in [1, ",
                                                   config.max_parallelism, "]"));
  }
  if (config.operators < 1) {
    return absl::InvalidArgumentError(absl::StrCat("operators ", config.operators, " must be at least 1"));
  }
  std::unique_ptr<SimJob> job(new SimJob(std::move(config), world, prng));
  job->owned_world_ = std::move(owned_world);
  for (int i = 0; i < job->config_.parallelism; ++i) {
    auto subtask = std::make_unique<Subtask>(&world->runtime());
    subtask->index = i;
    absl::StatusOr<KeyGroupRange> range =
        ComputeKeyGroupRangeForOperatorIndex(job->config_.max_parallelism, job->config_.parallelism, i);
    if (!range.ok()) return range.status();
    subtask->range = *range;
    subtask->machine =
        world->NewMachine(absl::StrCat("tm-", i), prng.Child(absl::StrCat(job->config_.job_id, "/tm-", i)));
    subtask->local_store =
        job->NewLocalStore(*subtask);
    subtask->storage = std::make_unique<ProcessStorage>(&world->storage());
    job->subtasks_.push_back(std::move(subtask));
  }
  if (absl::Status status = job->CreateCoordinator(); !status.ok()) return status;
  std::shared_ptr<const CompletedCheckpoint> initial;
  if (restore.has_value()) {
    CheckpointCoordinator::Result restored =
        job->coordinator_->RestoreSavepoint(restore->path, job->config_.restore_mode);
    if (!restored.ok()) return restored.status();
    initial = *restored;
    job->model_at_[initial->checkpoint_id][-1] = restore->model;
    job->restored_pointer_ = restore->path;
  }
  if (absl::Status status = job->RestartTasks(initial); !status.ok()) {
    // The restart strategy gave up: the job is FAILED, and its coordinator shuts down as for any globally terminal
    // status (store records removed, checkpoints kept per the retention policy), not killed.
    job->Stop(JobStatus::kFailed);
    return status;
  }
  const uint64_t call = job->BeginCall(DecisionEvent::Call::kStartScheduler);
  job->coordinator_->StartCheckpointScheduler();
  job->EndCall(DecisionEvent::Call::kStartScheduler, call);
  return job;
}

void SimJob::Drain() {
  ReleaseAllHeldMessages();
  world_->RunUntilQuiescent(nullptr);
}

SimJob::~SimJob() {
  if (!stopped_) {
    coordinator_->Kill();
    DecisionEvent killed;
    killed.kind = DecisionEvent::Kind::kCoordinatorKilled;
    LogDecision(std::move(killed));
    for (auto& subtask : subtasks_) StopTask(*subtask);
  }
  // Messages still on their way arrive first: a stopped coordinator discards what late acknowledgements carry (a
  // dropped one would leave its uploads behind; found by the swarm, seed 132). Then nothing more is delivered.
  ReleaseAllHeldMessages();
  world_->RunUntilQuiescent(nullptr);
  *alive_ = false;
  world_->RunUntilQuiescent(nullptr);
}

absl::Status SimJob::CreateCoordinator() {
  PartScope part(world_, "coordinator");
  CheckpointCoordinatorConfig config;
  config.job_id = config_.job_id;
  config.checkpoint_root = checkpoint_root();
  config.savepoint_root = config_.savepoints_directory;
  config.parallelism = config_.parallelism;
  config.max_parallelism = config_.max_parallelism;
  config.operator_ids.clear();
  for (int op = 0; op < config_.operators; ++op) config.operator_ids.push_back(ChainedOperatorId(op));
  config.checkpoint_interval_micros = config_.checkpoint_interval_micros;
  config.checkpoint_timeout_micros = config_.checkpoint_timeout_micros;
  config.max_concurrent_checkpoints = config_.max_concurrent_checkpoints;
  config.num_retained = config_.num_retained;
  config.retention = config_.retention;
  config.restore_mode = config_.restore_mode;
  config.tolerable_failed_checkpoints = config_.tolerable_failed_checkpoints;
  config.min_pause_micros = config_.min_pause_micros;
  config.listener = this;
  absl::StatusOr<std::shared_ptr<CheckpointCoordinator>> coordinator =
      CheckpointCoordinator::Create(config, runtime_, storage_, &counter_, this);
  if (!coordinator.ok()) return coordinator.status();
  {
    // Reports from the new coordinator carry its generation: set before anything can call back.
    std::lock_guard<std::mutex> lock(state_mutex_);
    ++coordinator_generation_;
  }
  coordinator_ = *std::move(coordinator);
  DecisionEvent started;
  started.kind = DecisionEvent::Kind::kCoordinatorStarted;
  LogDecision(std::move(started));
  return absl::OkStatus();
}

absl::Status SimJob::FailTask(Subtask& subtask, const absl::Status& cause) {
  if (subtask.failure.ok()) {
    world_->Record("job", absl::StrCat("subtask ", subtask.index, " attempt ", subtask.attempt.load(),
                                       " failed: ", cause.message()));
    // A status of its own (payloads copied, so IsInjected still sees the marker): the cause may share its
    // representation with a future another thread frees (see Unshared).
    subtask.failure = absl::Status(cause.code(), absl::StrCat("subtask ", subtask.index, " attempt ",
                                                              subtask.attempt.load(), " failed: ", cause.message()));
    if (subtask.task != nullptr) subtask.task->MarkFailed(cause);
    cause.ForEachPayload([&subtask](absl::string_view url, const absl::Cord& payload) {
      subtask.failure.SetPayload(url, absl::Cord(std::string(payload)));
    });
    {
      std::lock_guard<std::mutex> lock(state_mutex_);
      if (!task_failure_.has_value()) task_failure_ = subtask.failure;
    }
    // The failure reaches the job master as a message on the task's channel, after a decline the task sent first
    // (Flink's Task declines TASK_FAILURE, then reports its FAILED state); then the job turns RESTARTING.
    Dispatch(Message{MessageKind::kTaskFailed, -1, subtask.index}, [this] { EnterRestarting(); }, 1, 0,
             /*fifo=*/true);
  }
  return subtask.failure;
}

void SimJob::FailJob(const absl::Status& cause) {
  world_->Record("job", absl::StrCat("failover requested: ", cause.message()));
  DecisionEvent requested;
  requested.kind = DecisionEvent::Kind::kFailoverRequested;
  requested.detail = std::string(cause.message());
  LogDecision(std::move(requested));
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (!failover_request_.has_value()) failover_request_ = absl::Status(cause.code(), std::string(cause.message()));
  }
  EnterRestarting();
}

void SimJob::EnterRestarting() {
  // Called with the coordinator's lock or a subtask's mailbox held: the job master acts in an activity of its own.
  const uint64_t epoch = restart_epoch_;
  runtime_->Spawn("job-master-restarting", [this, alive = alive_, epoch] {
    if (!*alive) return;
    world_->SetPart("coordinator");
    RuntimeMutexLock lock(job_master_);
    if (restart_epoch_ != epoch || stopped_) return;  // a restart or a stop came first and answered it
    ++restart_epoch_;  // one reaction per failure
    world_->Record("job", "restarting: periodic checkpoints stop");
    const uint64_t call = BeginCall(DecisionEvent::Call::kStopScheduler);
    coordinator_->StopCheckpointScheduler();
    EndCall(DecisionEvent::Call::kStopScheduler, call);
  });
}

void SimJob::LogDecision(DecisionEvent event) {
  int generation = 0;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    generation = coordinator_generation_;
  }
  LogDecisionTo(generation, std::move(event));
}

void SimJob::LogDecisionTo(int generation, DecisionEvent event) {
  event.time_micros = runtime_->NowMicros();
  event.clock_jumps = world_->clock_jumps();
  event.coordinator = generation;
  std::lock_guard<std::mutex> lock(state_mutex_);
  decision_events_.push_back(std::move(event));
}

uint64_t SimJob::BeginCallTo(int generation, DecisionEvent::Call call, DecisionEvent details) {
  details.kind = DecisionEvent::Kind::kCallBegin;
  details.call = call;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    details.call_id = next_call_id_++;
  }
  const uint64_t id = details.call_id;
  LogDecisionTo(generation, std::move(details));
  return id;
}

void SimJob::EndCallTo(int generation, DecisionEvent::Call call, uint64_t call_id) {
  DecisionEvent ended;
  ended.kind = DecisionEvent::Kind::kCallEnd;
  ended.call = call;
  ended.call_id = call_id;
  LogDecisionTo(generation, std::move(ended));
}

uint64_t SimJob::BeginCall(DecisionEvent::Call call, DecisionEvent details) {
  int generation = 0;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    generation = coordinator_generation_;
  }
  return BeginCallTo(generation, call, std::move(details));
}

void SimJob::EndCall(DecisionEvent::Call call, uint64_t call_id) {
  int generation = 0;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    generation = coordinator_generation_;
  }
  EndCallTo(generation, call, call_id);
}

void SimJob::OnSchedulerStarted(int64_t /*time_micros*/) {
  DecisionEvent event;
  event.kind = DecisionEvent::Kind::kSchedulerStarted;
  LogDecision(std::move(event));
}

void SimJob::OnSchedulerStopped(int64_t /*time_micros*/) {
  DecisionEvent event;
  event.kind = DecisionEvent::Kind::kSchedulerStopped;
  LogDecision(std::move(event));
}

void SimJob::OnPeriodicRequest(int64_t /*time_micros*/) {
  DecisionEvent event;
  event.kind = DecisionEvent::Kind::kPeriodicRequest;
  event.periodic = true;
  LogDecision(std::move(event));
}

void SimJob::OnRequestRejected(CheckpointFailureReason reason, bool periodic, CheckpointKind kind,
                               int64_t /*time_micros*/) {
  DecisionEvent event;
  event.kind = DecisionEvent::Kind::kRequestRejected;
  event.reason = std::string(CheckpointFailureReasonName(reason));
  event.periodic = periodic;
  event.checkpoint_kind = KindName(kind);
  LogDecision(std::move(event));
}

void SimJob::OnTriggered(int64_t checkpoint_id, CheckpointKind kind, bool periodic, int64_t /*time_micros*/) {
  DecisionEvent event;
  event.kind = DecisionEvent::Kind::kTriggered;
  event.checkpoint_id = checkpoint_id;
  event.checkpoint_kind = KindName(kind);
  event.periodic = periodic;
  LogDecision(std::move(event));
}

void SimJob::OnCompleted(int64_t checkpoint_id, int64_t /*time_micros*/) {
  DecisionEvent event;
  event.kind = DecisionEvent::Kind::kCompleted;
  event.checkpoint_id = checkpoint_id;
  LogDecision(std::move(event));
}

void SimJob::OnAborted(int64_t checkpoint_id, CheckpointFailureReason reason, bool task_level,
                       const std::string& detail, int64_t /*time_micros*/) {
  DecisionEvent event;
  event.kind = DecisionEvent::Kind::kAborted;
  event.checkpoint_id = checkpoint_id;
  event.reason = std::string(CheckpointFailureReasonName(reason));
  event.task_level = task_level;
  event.detail = detail;
  LogDecision(std::move(event));
}

Future<CheckpointCoordinator::Result> SimJob::RequestCheckpoint(CheckpointKind kind) {
  PartScope part(world_, "coordinator");
  DecisionEvent details;
  details.checkpoint_kind = KindName(kind);
  const uint64_t call = BeginCall(DecisionEvent::Call::kRequestCheckpoint, details);
  Future<CheckpointCoordinator::Result> future = coordinator_->TriggerCheckpoint(kind);
  EndCall(DecisionEvent::Call::kRequestCheckpoint, call);
  return future;
}

Future<CheckpointCoordinator::Result> SimJob::RequestSavepoint(SavepointFormat format, bool synchronous) {
  PartScope part(world_, "coordinator");
  DecisionEvent details;
  details.checkpoint_kind = KindName(synchronous ? CheckpointKind::kSyncSavepoint : CheckpointKind::kSavepoint);
  const uint64_t call = BeginCall(DecisionEvent::Call::kRequestCheckpoint, details);
  Future<CheckpointCoordinator::Result> future = coordinator_->TriggerSavepoint(format, synchronous);
  EndCall(DecisionEvent::Call::kRequestCheckpoint, call);
  return future;
}

void SimJob::StopCheckpointScheduler() {
  PartScope part(world_, "coordinator");
  const uint64_t call = BeginCall(DecisionEvent::Call::kStopScheduler);
  coordinator_->StopCheckpointScheduler();
  EndCall(DecisionEvent::Call::kStopScheduler, call);
}

std::optional<absl::Status> SimJob::TakeFailoverRequest() {
  std::lock_guard<std::mutex> lock(state_mutex_);
  return std::exchange(failover_request_, std::nullopt);
}

std::optional<absl::Status> SimJob::TakeTaskFailure() {
  std::lock_guard<std::mutex> lock(state_mutex_);
  return std::exchange(task_failure_, std::nullopt);
}

CheckpointCoordinator::Result SimJob::Checkpoint(CheckpointKind kind) { return RequestCheckpoint(kind).Get(); }

CheckpointCoordinator::Result SimJob::Savepoint(SavepointFormat format, bool synchronous) {
  return RequestSavepoint(format, synchronous).Get();
}

absl::Status SimJob::RestartTasks(std::shared_ptr<const CompletedCheckpoint> checkpoint) {
  for (auto& subtask : subtasks_) StopTask(*subtask);
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    task_failure_.reset();  // the restart answers them
    failover_request_.reset();
  }
  if (checkpoint != nullptr) {
    absl::StatusOr<KeyValueMap> model = ModelAt(checkpoint->checkpoint_id);
    if (!model.ok()) return model.status();
    std::lock_guard<std::mutex> lock(state_mutex_);
    model_ = *std::move(model);
  } else {
    std::lock_guard<std::mutex> lock(state_mutex_);
    model_.clear();
  }
  absl::Status status;
  for (int attempt = 1; attempt <= std::max(1, config_.restart_attempts); ++attempt) {
    status = DeployTasks(checkpoint, attempt);
    if (status.ok()) break;
    for (auto& subtask : subtasks_) StopTask(*subtask);  // the job's one region restarts as a whole
  }
  return status;
}

absl::Status SimJob::DeployTasks(std::shared_ptr<const CompletedCheckpoint> checkpoint, int attempt) {
  // Flink deploys every task of the region at once; each restores in its own thread. When one fails, the job master
  // cancels the others, which may still be restoring: their restores stop (KeyedStateTask::Start) and the region
  // restarts as a whole.
  auto cancellation = std::make_shared<CancellationToken>();
  const std::vector<std::optional<absl::Status>> outcomes = RunParallelTransfers(
      *runtime_, "deploy", subtasks_.size(), kConcurrentDeployments,
      [&](size_t index) -> absl::Status {
        world_->SetPart(absl::StrCat("subtask ", index));
        absl::Status status = DeployTask(*subtasks_[index], checkpoint, cancellation);
        if (!status.ok() && !absl::IsCancelled(status)) {
          cancellation->Cancel(absl::StrCat("subtask ", index, " failed to deploy"));
        }
        return status;
      },
      cancellation.get());
  absl::Status first_failure;
  for (size_t index = 0; index < outcomes.size(); ++index) {
    if (!outcomes[index].has_value() || outcomes[index]->ok()) continue;
    const absl::Status& status = *outcomes[index];
    Subtask& subtask = *subtasks_[index];
    // Cancelled by another subtask's failure; a cancellation nobody asked for is a failure of its own.
    const bool cancelled = absl::IsCancelled(status) && cancellation->cancelled();
    world_->Record("job", absl::StrCat("deploying subtask ", subtask.index, cancelled ? " cancelled" : " failed",
                                       " (attempt ", attempt, " of ", config_.restart_attempts, "): ",
                                       status.message()));
    if (!cancelled && first_failure.ok()) first_failure = status;
    JobEvent event;
    event.kind = JobEvent::Kind::kRestartFailed;
    event.subtask = subtask.index;
    event.attempt = subtask.attempt;
    event.checkpoint_id = checkpoint != nullptr ? checkpoint->checkpoint_id : -1;
    event.error = status.ToString();
    event.cancelled = cancelled;
    PushEvent(std::move(event));
  }
  if (!first_failure.ok()) return first_failure;
  // Nothing failed on its own: a cancellation without a cause would be a bug here, and is reported as one.
  return TransfersOutcome(outcomes, cancellation.get(), "deploying the tasks");
}

absl::Status SimJob::FailoverTasks() {
  RuntimeMutexLock lock(job_master_);
  RestartEpoch epoch(&restart_epoch_);
  return FailoverTasksLocked();
}

absl::Status SimJob::FailoverTasksLocked() {
  world_->Record("job", "task failover");
  // Flink's job turns RESTARTING: periodic triggering stops, pending checkpoints are aborted (SUSPEND).
  StopCheckpointScheduler();
  for (auto& subtask : subtasks_) StopTask(*subtask);
  // Then restoreState aborts what is still pending (nothing, unless a request came in meanwhile).
  const uint64_t call = BeginCall(DecisionEvent::Call::kAbortPending,
                                  [] {
                                    DecisionEvent details;
                                    details.reason = "JOB_FAILOVER_REGION";
                                    return details;
                                  }());
  coordinator_->AbortPendingCheckpoints(CheckpointFailureReason::kJobFailoverRegion);
  EndCall(DecisionEvent::Call::kAbortPending, call);
  CheckpointCoordinator::Result latest = coordinator_->RestoreLatestCheckpointedState();
  if (!latest.ok()) return latest.status();
  if (absl::Status status = RestartTasks(*latest); !status.ok()) return status;
  // RUNNING again: periodic triggering starts anew.
  const uint64_t start = BeginCall(DecisionEvent::Call::kStartScheduler);
  coordinator_->StartCheckpointScheduler();
  EndCall(DecisionEvent::Call::kStartScheduler, start);
  return absl::OkStatus();
}

void SimJob::AcceptOrphans(const std::vector<std::string>& paths, int64_t checkpoint_id) {
  std::lock_guard<std::mutex> lock(state_mutex_);
  for (const std::string& path : paths) {
    accepted_orphans_.insert_or_assign(path, absl::StrCat("acknowledged for checkpoint ", checkpoint_id,
                                                 " to a coordinator that died with it pending"));
  }
}

absl::Status SimJob::FailoverCoordinator() {
  PartScope part(world_, "coordinator");
  RuntimeMutexLock lock(job_master_);
  RestartEpoch epoch(&restart_epoch_);
  world_->Record("job", "coordinator failover");
  // Dead first: Kill waits for the coordinator's lock, which a checkpoint's completion may hold for a while (slow
  // storage), and acknowledgements delivered meanwhile reach the living coordinator. Collected before it died, their
  // files would be missed (swarm seed 2292); an acknowledgement delivered after it sees a dead coordinator.
  coordinator_->Kill();
  {
    DecisionEvent killed;
    killed.kind = DecisionEvent::Kind::kCoordinatorKilled;
    LogDecision(std::move(killed));
  }
  // What the dying coordinator had been told of checkpoints still pending is known to no one after it.
  for (int64_t id : coordinator_->PendingCheckpointIds()) {
    std::vector<std::string> files;
    {
      std::lock_guard<std::mutex> lock(state_mutex_);
      files = acknowledged_files_[coordinator_.get()][id];
    }
    AcceptOrphans(files, id);
  }
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    acknowledged_files_.erase(coordinator_.get());
  }
  // Deletions it had queued never happen: no later coordinator knows those files (Flink's cleaner and registry
  // are in memory too).
  const std::vector<std::string> abandoned = coordinator_->AbandonedDeletions();
  const std::vector<std::string> stored_paths = storage_->AllPaths();
  {
    std::lock_guard<std::mutex> orphans_lock(state_mutex_);
    for (const std::string& path : abandoned) {
      if (!path.empty() && path.back() == '/') {
        for (const std::string& stored : stored_paths) {
          if (absl::StartsWith(stored, path)) {
            accepted_orphans_.insert_or_assign(stored, "under a directory the dead coordinator was deleting");
          }
        }
      } else {
        accepted_orphans_.insert_or_assign(path, "a deletion queued by the coordinator that died");
      }
    }
  }
  for (auto& subtask : subtasks_) StopTask(*subtask);
  // A new coordinator recovers the store from storage; a failed recovery is tried again (it deletes nothing).
  absl::Status created;
  for (int attempt = 1; attempt <= std::max(1, config_.restart_attempts); ++attempt) {
    created = CreateCoordinator();
    if (created.ok()) break;
    world_->Record("job", absl::StrCat("recovering the coordinator failed (attempt ", attempt, "): ",
                                       created.message()));
    JobEvent event;
    event.kind = JobEvent::Kind::kRestartFailed;
    event.subtask = -1;
    event.error = absl::StrCat("recovering the coordinator: ", created.ToString());
    PushEvent(std::move(event));
  }
  if (!created.ok()) return created;
  CheckpointCoordinator::Result latest = coordinator_->RestoreLatestCheckpointedState();
  if (!latest.ok()) return latest.status();
  if (absl::Status status = RestartTasks(*latest); !status.ok()) return status;
  const uint64_t start = BeginCall(DecisionEvent::Call::kStartScheduler);
  coordinator_->StartCheckpointScheduler();
  EndCall(DecisionEvent::Call::kStartScheduler, start);
  return absl::OkStatus();
}

void SimJob::Stop(JobStatus status) {
  PartScope part(world_, "coordinator");
  RuntimeMutexLock lock(job_master_);
  if (stopped_) return;
  stopped_ = true;
  RestartEpoch epoch(&restart_epoch_);
  StopCheckpointScheduler();
  for (auto& subtask : subtasks_) StopTask(*subtask);
  // The job leaves its task managers: their local state stores are disposed (Flink releases them with the job's
  // slots), the subtask directories deleted.
  if (config_.local_recovery) {
    for (auto& subtask : subtasks_) subtask->local_store->Dispose();
  }
  const uint64_t call = BeginCall(DecisionEvent::Call::kShutdown);
  coordinator_->Shutdown(status);
  EndCall(DecisionEvent::Call::kShutdown, call);
}

absl::StatusOr<KeyValueMap> SimJob::ModelAt(int64_t checkpoint_id) const {
  std::lock_guard<std::mutex> lock(state_mutex_);
  auto found = model_at_.find(checkpoint_id);
  if (found == model_at_.end()) {
    return absl::NotFoundError(absl::StrCat("the model has no state for checkpoint ", checkpoint_id));
  }
  if (found->second.count(-1) > 0) return found->second.at(-1);
  if (static_cast<int>(found->second.size()) != config_.parallelism) {
    return absl::NotFoundError(absl::StrCat("the model has only ", found->second.size(), " of ", config_.parallelism,
                                            " subtasks' state for checkpoint ", checkpoint_id));
  }
  KeyValueMap state;
  for (const auto& [subtask, part] : found->second) state.insert(part.begin(), part.end());
  return state;
}

std::set<std::string> SimJob::ReferencedPaths() {
  std::set<std::string> paths;
  for (const std::shared_ptr<CompletedCheckpoint>& checkpoint : coordinator_->RetainedCheckpoints()) {
    std::set<std::string> referenced = snapsim::ReferencedPaths(*checkpoint);
    paths.insert(referenced.begin(), referenced.end());
    paths.insert(coordinator_->store().RecordPath(checkpoint->checkpoint_id));
  }
  // Subsumed checkpoints the cleaner keeps while a retained checkpoint still uses some of their files (a native
  // savepoint restored in CLAIM mode, FLINK-28597): all their files stay until the last use ends. Found by the swarm
  // once it resumed from savepoints (seed 25): the checker took such a savepoint's other files for leaks.
  for (const std::string& path : coordinator_->cleaner().QueuedSubsumedPaths()) paths.insert(path);
  // Acknowledgements held in flight (`message action=hold`): their files reach the coordinator when the message is
  // delivered (a `deliver` step, or the run's end), which keeps or discards them. Found by the property tests: a
  // hold rule still armed during `quiesce` held a late ack, and its upload was taken for a leak.
  std::lock_guard<std::mutex> lock(state_mutex_);
  for (const HeldMessage& held : held_messages_) paths.insert(held.message.files.begin(), held.message.files.end());
  return paths;
}

std::optional<std::vector<int64_t>> SimJob::RunningAttempts() {
  std::vector<int64_t> attempts;
  bool all_running = true;
  for (auto& subtask : subtasks_) {
    if (!subtask->running) {
      all_running = false;
      break;
    }
    attempts.push_back(subtask->attempt);
  }
  DecisionEvent answer;
  answer.kind = DecisionEvent::Kind::kRunningAttempts;
  answer.all_running = all_running;
  LogDecision(std::move(answer));
  if (!all_running) return std::nullopt;
  return attempts;
}

void SimJob::EndCheckpointSpan(int64_t checkpoint_id, absl::string_view outcome) {
  int64_t start = 0;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    auto started = checkpoint_started_micros_.find(checkpoint_id);
    if (started == checkpoint_started_micros_.end()) return;
    start = started->second;
    checkpoint_started_micros_.erase(started);
  }
  world_->RecordSpan("checkpoint", absl::StrCat("checkpoint ", checkpoint_id, " ", outcome), start,
                     {{"checkpoint", absl::StrCat(checkpoint_id)}, {"outcome", std::string(outcome)}});
}

}  // namespace snapsim
