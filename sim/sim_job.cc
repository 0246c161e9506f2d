#include "sim/sim_job.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backend/local_files.h"

namespace snapsim {
namespace {

constexpr char kValueState[] = "value";

bool Overlaps(const KeyGroupRange& a, const KeyGroupRange& b) {
  return std::max(a.start(), b.start()) <= std::min(a.end(), b.end());
}

KeyGroupRange RangeOf(const KeyedStateHandle& handle) {
  if (const auto* incremental = std::get_if<IncrementalRemoteKeyedStateHandle>(&handle)) {
    return incremental->key_group_range;
  }
  return std::get<KeyGroupsStateHandle>(handle).offsets.range;
}

}  // namespace

SimJob::SimJob(SimJobConfig config, SimScheduler* scheduler, SimObjectStore* storage, const Prng& prng)
    : config_(std::move(config)), scheduler_(scheduler), storage_(storage), prng_(prng.Child("job")) {}

absl::StatusOr<std::unique_ptr<SimJob>> SimJob::Start(SimJobConfig config, SimScheduler* scheduler,
                                                      SimObjectStore* storage, const Prng& prng,
                                                      std::optional<SimJobRestore> restore) {
  if (config.parallelism <= 0 || config.parallelism > config.max_parallelism) {
    return absl::InvalidArgumentError(absl::StrCat("parallelism ", config.parallelism, " must be in [1, ",
                                                   config.max_parallelism, "]"));
  }
  std::unique_ptr<SimJob> job(new SimJob(std::move(config), scheduler, storage, prng));
  for (int i = 0; i < job->config_.parallelism; ++i) {
    auto subtask = std::make_unique<Subtask>(scheduler);
    subtask->index = i;
    absl::StatusOr<KeyGroupRange> range =
        ComputeKeyGroupRangeForOperatorIndex(job->config_.max_parallelism, job->config_.parallelism, i);
    if (!range.ok()) return range.status();
    subtask->range = *range;
    subtask->machine = std::make_unique<SimMachine>(scheduler, prng.Child(absl::StrCat(job->config_.job_id, "/tm-", i)),
                                                    absl::StrCat("tm-", i));
    subtask->local_store = std::make_unique<TaskLocalStateStore>(subtask->machine->env());
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
  }
  if (absl::Status status = job->RestartTasks(initial); !status.ok()) return status;
  job->coordinator_->StartCheckpointScheduler();
  return job;
}

SimJob::~SimJob() {
  if (!stopped_) {
    coordinator_->Kill();
    for (auto& subtask : subtasks_) StopTask(*subtask);
  }
  *alive_ = false;
  scheduler_->RunUntilQuiescent();
}

absl::Status SimJob::CreateCoordinator() {
  CheckpointCoordinatorConfig config;
  config.job_id = config_.job_id;
  config.checkpoint_root = checkpoint_root();
  config.savepoint_root = config_.savepoints_directory;
  config.parallelism = config_.parallelism;
  config.max_parallelism = config_.max_parallelism;
  config.checkpoint_interval_micros = config_.checkpoint_interval_micros;
  config.checkpoint_timeout_micros = config_.checkpoint_timeout_micros;
  config.max_concurrent_checkpoints = config_.max_concurrent_checkpoints;
  config.num_retained = config_.num_retained;
  config.retention = config_.retention;
  config.restore_mode = config_.restore_mode;
  absl::StatusOr<std::shared_ptr<CheckpointCoordinator>> coordinator =
      CheckpointCoordinator::Create(config, scheduler_, storage_, &counter_, this);
  if (!coordinator.ok()) return coordinator.status();
  coordinator_ = *std::move(coordinator);
  return absl::OkStatus();
}

int SimJob::SubtaskOf(const std::string& key) const {
  return ComputeOperatorIndexForKeyGroup(config_.max_parallelism, config_.parallelism,
                                         AssignKeyToKeyGroup(key, config_.max_parallelism));
}

absl::Status SimJob::Put(const std::string& key, const std::string& value) {
  Subtask& subtask = *subtasks_[SubtaskOf(key)];
  RuntimeMutexLock lock(subtask.mailbox);
  if (!subtask.running) return absl::UnavailableError(absl::StrCat("subtask ", subtask.index, " is not running"));
  KeyedStateBackend& backend = subtask.task->backend();
  if (absl::Status status = backend.SetCurrentKey(key); !status.ok()) return status;
  if (absl::Status status = backend.PutValue(kValueState, value); !status.ok()) return status;
  model_[key] = value;
  return absl::OkStatus();
}

absl::Status SimJob::Remove(const std::string& key) {
  Subtask& subtask = *subtasks_[SubtaskOf(key)];
  RuntimeMutexLock lock(subtask.mailbox);
  if (!subtask.running) return absl::UnavailableError(absl::StrCat("subtask ", subtask.index, " is not running"));
  KeyedStateBackend& backend = subtask.task->backend();
  if (absl::Status status = backend.SetCurrentKey(key); !status.ok()) return status;
  if (absl::Status status = backend.Clear(kValueState); !status.ok()) return status;
  model_.erase(key);
  return absl::OkStatus();
}

absl::Status SimJob::Flush() {
  for (auto& subtask : subtasks_) {
    RuntimeMutexLock lock(subtask->mailbox);
    if (!subtask->running) continue;
    if (absl::Status status = subtask->task->backend().Flush(); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status SimJob::Compact() {
  for (auto& subtask : subtasks_) {
    RuntimeMutexLock lock(subtask->mailbox);
    if (!subtask->running) continue;
    if (absl::Status status = subtask->task->backend().Compact(); !status.ok()) return status;
  }
  return absl::OkStatus();
}

CheckpointCoordinator::Result SimJob::Checkpoint(CheckpointKind kind) {
  return coordinator_->TriggerCheckpoint(kind).Get();
}

CheckpointCoordinator::Result SimJob::Savepoint(SavepointFormat format, bool synchronous) {
  return coordinator_->TriggerSavepoint(format, synchronous).Get();
}

void SimJob::StopTask(Subtask& subtask) {
  RuntimeMutexLock lock(subtask.mailbox);
  subtask.running = false;
  if (subtask.task != nullptr) {
    (void)subtask.task->Close();  // on a crashed machine this fails; the task is gone either way
    subtask.task.reset();
  }
  // Flink disposes the backend's instance directory with the backend.
  if (!subtask.instance_path.empty()) (void)DeleteRecursively(subtask.machine->env(), subtask.instance_path);
}

absl::Status SimJob::DeployTask(Subtask& subtask, std::shared_ptr<const CompletedCheckpoint> checkpoint) {
  RuntimeMutexLock lock(subtask.mailbox);
  ++subtask.attempt;
  const std::string machine = subtask.machine->name();
  subtask.instance_path =
      absl::StrCat("/", machine, "/", config_.job_id, "/op_sti_", subtask.index, "_attempt_", subtask.attempt);
  KeyedStateTaskConfig task_config;
  task_config.backend.env = subtask.machine->env();
  task_config.backend.instance_path = subtask.instance_path;
  task_config.backend.max_parallelism = config_.max_parallelism;
  task_config.backend.key_group_range = subtask.range;
  task_config.backend.preset = OptionsPreset::kSimulation;
  task_config.incremental = config_.incremental;
  task_config.local_recovery.enabled = config_.local_recovery;
  task_config.local_recovery.subtask_directory =
      absl::StrCat("/", machine, "/localState/", config_.job_id, "/sti_", subtask.index);
  task_config.upload_threads = config_.upload_threads;
  std::optional<TaskRestoreState> restore;
  if (checkpoint != nullptr) {
    restore.emplace();
    restore->checkpoint_id = checkpoint->checkpoint_id;
    for (const std::optional<KeyedStateHandle>& state : checkpoint->subtask_states) {
      if (state.has_value() && Overlaps(RangeOf(*state), subtask.range)) restore->handles.push_back(*state);
    }
  }
  absl::StatusOr<std::unique_ptr<KeyedStateTask>> task = KeyedStateTask::Start(
      task_config, scheduler_, storage_, subtask.local_store.get(), restore);
  if (!task.ok()) {
    return absl::Status(task.status().code(), absl::StrCat("deploying subtask ", subtask.index, " attempt ",
                                                           subtask.attempt, ": ", task.status().message()));
  }
  subtask.task = *std::move(task);
  if (absl::Status status = subtask.task->backend().RegisterState(kValueState, StateKind::kValue); !status.ok()) {
    return status;
  }
  subtask.running = true;
  return absl::OkStatus();
}

absl::Status SimJob::RestartTasks(std::shared_ptr<const CompletedCheckpoint> checkpoint) {
  for (auto& subtask : subtasks_) StopTask(*subtask);
  if (checkpoint != nullptr) {
    absl::StatusOr<KeyValueMap> model = ModelAt(checkpoint->checkpoint_id);
    if (!model.ok()) return model.status();
    model_ = *std::move(model);
  } else {
    model_.clear();
  }
  for (auto& subtask : subtasks_) {
    if (absl::Status status = DeployTask(*subtask, checkpoint); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status SimJob::FailoverTasks() {
  scheduler_->RecordTrace("job", "task failover");
  for (auto& subtask : subtasks_) StopTask(*subtask);
  coordinator_->AbortPendingCheckpoints("JOB_FAILOVER_REGION");
  CheckpointCoordinator::Result latest = coordinator_->RestoreLatestCheckpointedState();
  if (!latest.ok()) return latest.status();
  return RestartTasks(*latest);
}

absl::Status SimJob::CrashMachine(int subtask_index) {
  scheduler_->RecordTrace("job", "machine crash");
  Subtask& crashed = *subtasks_[subtask_index];
  crashed.machine->Crash();
  for (auto& subtask : subtasks_) StopTask(*subtask);
  // The task manager process died with its local state store; the disk kept only what was synced.
  crashed.local_store = std::make_unique<TaskLocalStateStore>(crashed.machine->env());
  return FailoverTasks();
}

void SimJob::AcceptOrphans(const std::vector<std::string>& paths, int64_t checkpoint_id) {
  for (const std::string& path : paths) {
    accepted_orphans_.emplace(path, absl::StrCat("acknowledged for checkpoint ", checkpoint_id,
                                                 " to a coordinator that died with it pending"));
  }
}

absl::Status SimJob::FailoverCoordinator() {
  scheduler_->RecordTrace("job", "coordinator failover");
  // What the dying coordinator had been told of checkpoints still pending is known to no one after it.
  for (int64_t id : coordinator_->PendingCheckpointIds()) AcceptOrphans(acknowledged_files_[coordinator_.get()][id], id);
  acknowledged_files_.erase(coordinator_.get());
  coordinator_->Kill();
  // Deletions it had queued never happen: no later coordinator knows those files (Flink's cleaner and registry
  // are in memory too).
  for (const std::string& path : coordinator_->AbandonedDeletions()) {
    if (!path.empty() && path.back() == '/') {
      for (const std::string& stored : storage_->AllPaths()) {
        if (absl::StartsWith(stored, path)) {
          accepted_orphans_.emplace(stored, "under a directory the dead coordinator was deleting");
        }
      }
    } else {
      accepted_orphans_.emplace(path, "a deletion queued by the coordinator that died");
    }
  }
  for (auto& subtask : subtasks_) StopTask(*subtask);
  if (absl::Status status = CreateCoordinator(); !status.ok()) return status;
  CheckpointCoordinator::Result latest = coordinator_->RestoreLatestCheckpointedState();
  if (!latest.ok()) return latest.status();
  if (absl::Status status = RestartTasks(*latest); !status.ok()) return status;
  coordinator_->StartCheckpointScheduler();
  return absl::OkStatus();
}

void SimJob::Stop(JobStatus status) {
  if (stopped_) return;
  stopped_ = true;
  coordinator_->StopCheckpointScheduler();
  for (auto& subtask : subtasks_) StopTask(*subtask);
  coordinator_->Shutdown(status);
}

absl::StatusOr<KeyValueMap> SimJob::ModelAt(int64_t checkpoint_id) const {
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

absl::StatusOr<KeyValueMap> SimJob::ActualState() {
  KeyValueMap state;
  for (auto& subtask : subtasks_) {
    RuntimeMutexLock lock(subtask->mailbox);
    if (!subtask->running) return absl::UnavailableError(absl::StrCat("subtask ", subtask->index, " not running"));
    KeyedStateBackend& backend = subtask->task->backend();
    // Every key group: state outside the subtask's range would be a restore bug and must show.
    const KeyGroupRange all(0, config_.max_parallelism - 1);
    absl::Status status = backend.ForEachEntry(kValueState, all, [&](const StateEntry& entry) {
      state[entry.key.key] = entry.value;
      return true;
    });
    if (!status.ok()) return status;
  }
  return state;
}

std::set<std::string> SimJob::ReferencedPaths() {
  std::set<std::string> paths;
  for (const std::shared_ptr<CompletedCheckpoint>& checkpoint : coordinator_->RetainedCheckpoints()) {
    std::set<std::string> referenced = snapsim::ReferencedPaths(*checkpoint);
    paths.insert(referenced.begin(), referenced.end());
    paths.insert(coordinator_->store().RecordPath(checkpoint->checkpoint_id));
  }
  return paths;
}

void SimJob::Send(const Message& message, std::function<void()> deliver) {
  const MessageFate fate = message_fault_hook_ ? message_fault_hook_(message) : MessageFate::kDeliver;
  static constexpr const char* kNames[] = {"trigger", "ack", "decline", "notify-complete", "notify-aborted"};
  static constexpr const char* kFates[] = {"send", "drop", "duplicate"};
  scheduler_->RecordTrace("job", absl::StrCat(kFates[static_cast<int>(fate)], " ", kNames[static_cast<int>(message.kind)],
                                              " ", message.checkpoint_id, " subtask ", message.subtask));
  if (fate == MessageFate::kDrop) return;
  const int copies = fate == MessageFate::kDuplicate ? 2 : 1;
  for (int copy = 0; copy < copies; ++copy) {
    const int64_t latency = static_cast<int64_t>(
        prng_.UniformBelow(static_cast<uint64_t>(config_.message_latency_micros_max) + 1));
    scheduler_->Spawn(absl::StrCat("rpc-", kNames[static_cast<int>(message.kind)], "-", message.checkpoint_id, "-",
                                   message.subtask),
                      [alive = alive_, scheduler = scheduler_, latency, deliver] {
                        scheduler->SleepForMicros(latency);
                        if (*alive) deliver();
                      });
  }
}

std::optional<std::vector<int64_t>> SimJob::RunningAttempts() {
  std::vector<int64_t> attempts;
  for (auto& subtask : subtasks_) {
    if (!subtask->running) return std::nullopt;
    attempts.push_back(subtask->attempt);
  }
  return attempts;
}

void SimJob::TriggerCheckpoint(int subtask, int64_t attempt, int64_t checkpoint_id,
                               const CheckpointOptions& options) {
  std::shared_ptr<CheckpointCoordinator> coordinator = coordinator_;
  Send(Message{MessageKind::kTrigger, checkpoint_id, subtask},
       [this, subtask, attempt, checkpoint_id, options, coordinator] {
         HandleTrigger(subtask, attempt, checkpoint_id, options, coordinator);
       });
}

void SimJob::HandleTrigger(int subtask_index, int64_t attempt, int64_t checkpoint_id,
                           const CheckpointOptions& options, std::shared_ptr<CheckpointCoordinator> coordinator) {
  Subtask& subtask = *subtasks_[subtask_index];
  RuntimeMutexLock lock(subtask.mailbox);
  if (!subtask.running || subtask.attempt != attempt) return;  // the attempt it was meant for is gone
  // The model's part at the synchronous snapshot: nothing writes while the mailbox is held. Recorded only for a
  // snapshot actually taken (a duplicated trigger must not overwrite it with a later state).
  KeyValueMap part;
  for (const auto& [key, value] : model_) {
    if (SubtaskOf(key) == subtask_index) part[key] = value;
  }
  absl::StatusOr<KeyedStateTask::SnapshotFuture> future = subtask.task->TriggerSnapshot(checkpoint_id, options);
  if (future.ok()) model_at_[checkpoint_id][subtask_index] = std::move(part);
  auto decline = [this, coordinator, checkpoint_id, subtask_index, attempt](absl::Status reason) {
    Send(Message{MessageKind::kDecline, checkpoint_id, subtask_index},
         [coordinator, checkpoint_id, subtask_index, attempt, reason] {
           coordinator->ReceiveDecline(DeclineCheckpoint{checkpoint_id, subtask_index, attempt, reason});
         });
  };
  if (!future.ok()) {
    if (!absl::IsAlreadyExists(future.status())) decline(future.status());  // a duplicated trigger is ignored
    return;
  }
  scheduler_->Spawn(absl::StrCat("await-snapshot-", checkpoint_id, "-", subtask_index),
                    [this, alive = alive_, future = *future, decline, coordinator, checkpoint_id, subtask_index,
                     attempt] {
                      const absl::StatusOr<std::optional<KeyedStateHandle>>& result = future.Get();
                      if (!*alive) return;
                      if (!result.ok()) {
                        decline(result.status());
                        return;
                      }
                      AcknowledgeCheckpoint ack{checkpoint_id, subtask_index, attempt, *result};
                      Send(Message{MessageKind::kAcknowledge, checkpoint_id, subtask_index},
                           [this, coordinator, ack] {
                             const std::vector<std::string> files = ack.state.has_value() ? OwnedPaths(*ack.state) : std::vector<std::string>();
                             if (coordinator->killed()) {
                               AcceptOrphans(files, ack.checkpoint_id);  // the coordinator it was sent to died
                               return;
                             }
                             std::vector<std::string>& known = acknowledged_files_[coordinator.get()][ack.checkpoint_id];
                             known.insert(known.end(), files.begin(), files.end());
                             coordinator->ReceiveAcknowledge(ack);
                           });
                    });
}

void SimJob::NotifyCheckpointComplete(int subtask_index, int64_t checkpoint_id, int64_t /*last_subsumed_id*/) {
  const int64_t attempt = subtasks_[subtask_index]->attempt;
  Send(Message{MessageKind::kNotifyComplete, checkpoint_id, subtask_index}, [this, subtask_index, attempt,
                                                                              checkpoint_id] {
    Subtask& subtask = *subtasks_[subtask_index];
    RuntimeMutexLock lock(subtask.mailbox);
    if (subtask.running && subtask.attempt == attempt) subtask.task->NotifyCheckpointComplete(checkpoint_id);
  });
}

void SimJob::NotifyCheckpointAborted(int subtask_index, int64_t checkpoint_id, int64_t latest_completed_id) {
  const int64_t attempt = subtasks_[subtask_index]->attempt;
  Send(Message{MessageKind::kNotifyAborted, checkpoint_id, subtask_index},
       [this, subtask_index, attempt, checkpoint_id, latest_completed_id] {
         Subtask& subtask = *subtasks_[subtask_index];
         RuntimeMutexLock lock(subtask.mailbox);
         if (subtask.running && subtask.attempt == attempt) {
           subtask.task->NotifyCheckpointAborted(checkpoint_id, latest_completed_id);
         }
       });
}

}  // namespace snapsim
