// The simulated job, task manager side: the state model, the tasks' writes, a process's storage, deploying and
// restoring a task, task-local stores, machine crashes, kills and restarts, and what a task does with a trigger or a
// notification. The job manager side is sim_job.cc; the messages between them sim_job_messages.cc.
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
using sim_job_internal::Unshared;

std::vector<StateMetaInfo> JobStateMetaInfos() {
  std::vector<StateMetaInfo> infos;
  for (const JobState& state : kJobStates) infos.push_back(StateMetaInfo::Of(state.name, state.kind));
  return infos;
}

constexpr char kKeySeparator = '\x1f';
constexpr char kListSeparator = '\x1e';
constexpr char kOperatorSeparator = '\x1d';

namespace {

// The model key without its operator prefix.
absl::string_view WithoutOperator(absl::string_view model_key) {
  const size_t separator = model_key.find(kOperatorSeparator);
  return separator == absl::string_view::npos ? model_key : model_key.substr(separator + 1);
}

}  // namespace

std::string ModelKey(absl::string_view state, absl::string_view key, absl::string_view user_key, int op) {
  const std::string prefix = op == 0 ? std::string() : absl::StrCat(op, std::string(1, kOperatorSeparator));
  if (state == "value") return absl::StrCat(prefix, key);
  std::string out = absl::StrCat(prefix, state, std::string(1, kKeySeparator), key);
  if (state == "map") absl::StrAppend(&out, std::string(1, kKeySeparator), user_key);
  return out;
}

int OperatorOfModelKey(absl::string_view model_key) {
  const size_t separator = model_key.find(kOperatorSeparator);
  if (separator == absl::string_view::npos) return 0;
  int op = 0;
  for (char c : model_key.substr(0, separator)) op = op * 10 + (c - '0');
  return op;
}

std::string RecordKeyOfModelKey(absl::string_view full_model_key) {
  const absl::string_view model_key = WithoutOperator(full_model_key);
  const size_t first = model_key.find(kKeySeparator);
  if (first == absl::string_view::npos) return std::string(model_key);
  const absl::string_view rest = model_key.substr(first + 1);
  absl::string_view state = model_key.substr(0, first);
  if (state != "map") return std::string(rest);
  return std::string(rest.substr(0, rest.rfind(kKeySeparator)));
}

std::string DescribeModelKey(absl::string_view full_model_key) {
  const int op = OperatorOfModelKey(full_model_key);
  const std::string prefix = op == 0 ? std::string() : absl::StrCat("op", op, ":");
  const absl::string_view model_key = WithoutOperator(full_model_key);
  if (model_key.find(kKeySeparator) == absl::string_view::npos) return absl::StrCat(prefix, "value/", model_key);
  return absl::StrCat(prefix, absl::StrReplaceAll(model_key, {{std::string(1, kKeySeparator), "/"}}));
}

std::string DescribeModelValue(absl::string_view value) {
  return absl::StrReplaceAll(value, {{std::string(1, kListSeparator), ","}});
}

absl::StatusOr<KeyValueMap> ReadJobStates(KeyedStateBackend& backend, int max_parallelism, int op) {
  KeyValueMap state;
  const KeyGroupRange all(0, max_parallelism - 1);
  absl::Status decode_error;
  for (const JobState& job_state : kJobStates) {
    absl::Status status = backend.ForEachEntry(job_state.name, all, [&](const StateEntry& entry) {
      if (job_state.kind == StateKind::kList) {
        absl::StatusOr<std::vector<std::string>> elements = DecodeList(entry.value);
        if (!elements.ok()) {
          decode_error = elements.status();
          return false;
        }
        state[ModelKey(job_state.name, entry.key.key, "", op)] =
            absl::StrJoin(*elements, std::string(1, kListSeparator));
      } else {
        state[ModelKey(job_state.name, entry.key.key, entry.key.user_key.value_or(""), op)] = entry.value;
      }
      return true;
    });
    if (!status.ok()) return status;
    if (!decode_error.ok()) return decode_error;
  }
  return state;
}

absl::StatusOr<KeyValueMap> ReadTaskStates(KeyedStateTask& task, int max_parallelism) {
  KeyValueMap state;
  for (int op = 0; op < task.operators(); ++op) {
    absl::StatusOr<KeyValueMap> part = ReadJobStates(task.backend(op), max_parallelism, op);
    if (!part.ok()) return part.status();
    state.insert(part->begin(), part->end());
  }
  return state;
}

namespace {

constexpr char kValueState[] = "value";

// A stream of a process that may die: once dead, its writes fail and it never finishes (what it wrote so far is
// discarded like any unfinished object: the store's puts are atomic).
class ProcessOutputStream : public CheckpointOutputStream {
 public:
  ProcessOutputStream(std::unique_ptr<CheckpointOutputStream> stream, std::shared_ptr<std::atomic<bool>> dead, std::string path)
      : stream_(std::move(stream)), dead_(std::move(dead)), path_(std::move(path)) {}
  absl::Status Write(absl::string_view data) override {
    if (*dead_) return absl::UnavailableError(absl::StrCat("the process writing ", path_, " was killed"));
    return stream_->Write(data);
  }
  absl::StatusOr<StoredObjectInfo> Finish() override {
    if (*dead_) return absl::UnavailableError(absl::StrCat("the process writing ", path_, " was killed"));
    return stream_->Finish();
  }
  void Cancel() override { stream_->Cancel(); }

 private:
  std::unique_ptr<CheckpointOutputStream> stream_;
  std::shared_ptr<std::atomic<bool>> dead_;
  std::string path_;
};

bool Overlaps(const KeyGroupRange& a, const KeyGroupRange& b) {
  return std::max(a.start(), b.start()) <= std::min(a.end(), b.end());
}

KeyGroupRange RangeOf(const KeyedStateHandle& handle) {
  if (const auto* incremental = std::get_if<IncrementalRemoteKeyedStateHandle>(&handle)) {
    return incremental->key_group_range;
  }
  return std::get<KeyGroupsStateHandle>(handle).offsets.range;
}

// A decision-log event about one task's part of a checkpoint.
DecisionEvent TaskDecision(int64_t checkpoint_id, int subtask, int64_t attempt) {
  DecisionEvent event;
  event.checkpoint_id = checkpoint_id;
  event.subtask = subtask;
  event.attempt = attempt;
  return event;
}

}  // namespace

std::vector<std::string> ProcessStorage::WrittenPaths() const {
  std::lock_guard<std::mutex> lock(written_mutex_);
  return written_;
}

absl::Status ProcessStorage::CheckAlive(absl::string_view what, const std::string& path) const {
  if (*dead_) return absl::UnavailableError(absl::StrCat(what, " ", path, ": the process was killed"));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> ProcessStorage::Create(const std::string& path) {
  if (absl::Status status = CheckAlive("create", path); !status.ok()) return status;
  // Recorded when started, not when finished: an upload in flight when the process dies may still commit.
  {
    std::lock_guard<std::mutex> lock(written_mutex_);
    written_.push_back(path);
  }
  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = storage_->Create(path);
  if (!stream.ok()) return stream.status();
  return std::unique_ptr<CheckpointOutputStream>(
      std::make_unique<ProcessOutputStream>(*std::move(stream), dead_, path));
}

absl::StatusOr<std::string> ProcessStorage::Read(const std::string& path) {
  if (absl::Status status = CheckAlive("read", path); !status.ok()) return status;
  return storage_->Read(path);
}

absl::Status ProcessStorage::Delete(const std::string& path) {
  if (absl::Status status = CheckAlive("delete", path); !status.ok()) return status;
  return storage_->Delete(path);
}

absl::StatusOr<std::vector<std::string>> ProcessStorage::List(const std::string& prefix) {
  if (absl::Status status = CheckAlive("list", prefix); !status.ok()) return status;
  return storage_->List(prefix);
}

absl::StatusOr<bool> ProcessStorage::Exists(const std::string& path) {
  if (absl::Status status = CheckAlive("exists", path); !status.ok()) return status;
  return storage_->Exists(path);
}

absl::StatusOr<StoredObjectInfo> ProcessStorage::Stat(const std::string& path) {
  if (absl::Status status = CheckAlive("stat", path); !status.ok()) return status;
  return storage_->Stat(path);
}

int SimJob::SubtaskOf(const std::string& key) const {
  return ComputeOperatorIndexForKeyGroup(config_.max_parallelism, config_.parallelism,
                                         AssignKeyToKeyGroup(key, config_.max_parallelism));
}

absl::Status SimJob::Put(const std::string& key, const std::string& value) {
  return Write(StateWrite{StateWrite::Operation::kPut, kValueState, key, "", value});
}

absl::Status SimJob::Remove(const std::string& key) {
  return Write(StateWrite{StateWrite::Operation::kClear, kValueState, key, "", ""});
}

absl::Status SimJob::Write(const StateWrite& write) {
  if (write.op < 0 || write.op >= config_.operators) {
    return absl::InvalidArgumentError(absl::StrCat("operator ", write.op, " does not exist (the job chains ",
                                                   config_.operators, ")"));
  }
  Subtask& subtask = *subtasks_[SubtaskOf(write.key)];
  RuntimeMutexLock lock(subtask.mailbox);
  if (!subtask.running) return absl::UnavailableError(absl::StrCat("subtask ", subtask.index, " is not running"));
  if (!subtask.failure.ok()) return subtask.failure;
  KeyedStateBackend& backend = subtask.task->backend(write.op);
  if (absl::Status status = backend.SetCurrentKey(write.key); !status.ok()) return FailTask(subtask, status);
  const std::string model_key = ModelKey(write.state, write.key, write.user_key, write.op);
  absl::Status status;
  // The model changes under the bookkeeping lock: a snapshot's synchronous part reads it on another thread.
  auto model_lock = [this] { return std::unique_lock<std::mutex>(state_mutex_); };
  switch (write.operation) {
    case StateWrite::Operation::kPut:
      status = backend.PutValue(write.state, write.value);
      if (status.ok()) {
        auto lock = model_lock();
        model_[model_key] = write.value;
      }
      break;
    case StateWrite::Operation::kAppend:
      status = backend.AppendToList(write.state, write.value);
      if (status.ok()) {
        auto lock = model_lock();
        auto [entry, inserted] = model_.emplace(model_key, write.value);
        if (!inserted) entry->second = absl::StrCat(entry->second, std::string(1, kListSeparator), write.value);
      }
      break;
    case StateWrite::Operation::kMapPut:
      status = backend.PutMapEntry(write.state, write.user_key, write.value);
      if (status.ok()) {
        auto lock = model_lock();
        model_[model_key] = write.value;
      }
      break;
    case StateWrite::Operation::kMapRemove:
      status = backend.RemoveMapEntry(write.state, write.user_key);
      if (status.ok()) {
        auto lock = model_lock();
        model_.erase(model_key);
      }
      break;
    case StateWrite::Operation::kClear:
      status = backend.Clear(write.state);
      if (status.ok()) {
        auto lock = model_lock();
        if (write.state == "map") {
          // The key's map entries: "<state>\x1f<key>\x1f<user key>" (the empty user key's key ends in the separator).
          const std::string prefix = ModelKey(write.state, write.key, "", write.op);
          for (auto it = model_.lower_bound(prefix); it != model_.end() && absl::StartsWith(it->first, prefix);) {
            it = model_.erase(it);
          }
        } else {
          model_.erase(model_key);
        }
      }
      break;
  }
  return status.ok() ? status : FailTask(subtask, status);
}

absl::Status SimJob::Flush() {
  for (auto& subtask : subtasks_) {
    RuntimeMutexLock lock(subtask->mailbox);
    if (!subtask->running) continue;
    if (!subtask->failure.ok()) return subtask->failure;
    for (int op = 0; op < subtask->task->operators(); ++op) {
      if (absl::Status status = subtask->task->backend(op).Flush(); !status.ok()) return FailTask(*subtask, status);
    }
  }
  return absl::OkStatus();
}

absl::Status SimJob::Compact() {
  for (auto& subtask : subtasks_) {
    RuntimeMutexLock lock(subtask->mailbox);
    if (!subtask->running) continue;
    if (!subtask->failure.ok()) return subtask->failure;
    for (int op = 0; op < subtask->task->operators(); ++op) {
      if (absl::Status status = subtask->task->backend(op).Compact(); !status.ok()) return FailTask(*subtask, status);
    }
  }
  return absl::OkStatus();
}

void SimJob::StopTask(Subtask& subtask) {
  RuntimeMutexLock lock(subtask.mailbox);
  subtask.running = false;
  subtask.failure = absl::OkStatus();
  if (subtask.task != nullptr) {
    (void)subtask.task->Close();  // on a crashed machine this fails; the task is gone either way
    subtask.task.reset();
  }
  // Flink disposes the backend's instance directory with the backend.
  if (!subtask.instance_path.empty()) {
    for (int op = 0; op < config_.operators; ++op) {
      (void)DeleteRecursively(subtask.machine->env(), OperatorInstancePath(subtask.instance_path, op));
    }
  }
}

absl::Status SimJob::DeployTask(Subtask& subtask, std::shared_ptr<const CompletedCheckpoint> checkpoint,
                               std::shared_ptr<const CancellationToken> cancellation) {
  RuntimeMutexLock lock(subtask.mailbox);
  ++subtask.attempt;
  const std::string machine_root = subtask.machine->root();
  subtask.instance_path =
      absl::StrCat(machine_root, "/", config_.job_id, "/op_sti_", subtask.index, "_attempt_", subtask.attempt.load());
  KeyedStateTaskConfig task_config;
  task_config.backend.env = subtask.machine->env();
  task_config.backend.instance_path = subtask.instance_path;
  task_config.backend.max_parallelism = config_.max_parallelism;
  task_config.backend.key_group_range = subtask.range;
  task_config.backend.preset = world_->preset();
  task_config.backend.cancellation = std::move(cancellation);
  task_config.incremental = config_.incremental;
  task_config.local_recovery.enabled = config_.local_recovery;
  task_config.local_recovery.subtask_directory = LocalStateDirectory(subtask);
  task_config.upload_threads = config_.upload_threads;
  task_config.memory_threshold = config_.inline_threshold;
  task_config.operators = config_.operators;
  std::optional<TaskRestoreState> restore;
  if (checkpoint != nullptr) {
    restore.emplace();
    restore->checkpoint_id = checkpoint->checkpoint_id;
    restore->operator_handles.resize(config_.operators);
    for (int op = 0; op < config_.operators; ++op) {
      // State follows the operator's ID; a new operator starts empty.
      const OperatorState* operator_state = checkpoint->FindOperator(ChainedOperatorId(op));
      if (operator_state == nullptr) continue;
      for (const std::optional<KeyedStateHandle>& state : operator_state->subtask_states) {
        if (state.has_value() && Overlaps(RangeOf(*state), subtask.range)) {
          restore->operator_handles[op].push_back(*state);
        }
      }
    }
  }
  std::vector<JobEvent> events(config_.operators);
  std::optional<TaskLocalSnapshot> local_snapshot;
  absl::Status local_snapshot_error;
  if (restore.has_value()) {
    local_snapshot = subtask.local_store->Retrieve(restore->checkpoint_id, &local_snapshot_error);
    if (!local_snapshot_error.ok()) {
      world_->Record("job", absl::StrCat("subtask ", subtask.index, ": ", local_snapshot_error.message()));
    }
  }
  for (int op = 0; op < config_.operators; ++op) {
    JobEvent& event = events[op];
    event.kind = JobEvent::Kind::kDeployed;
    event.subtask = subtask.index;
    event.op = op;
    event.attempt = subtask.attempt;
    event.local_recovery = config_.local_recovery;
    event.incremental = config_.incremental;
    if (!restore.has_value()) continue;
    const std::vector<KeyedStateHandle>& handles = restore->operator_handles[op];
    event.checkpoint_id = restore->checkpoint_id;
    event.restored_handles = handles;
    event.rescaled = handles.size() != 1 || RangeOf(handles[0]) != subtask.range;
    // What the task-local store should offer: what it retrieved, or, when a restarted task manager's store has
    // nothing, what its predecessor held (judged by the checker: the disk kept it, so it must be reloaded).
    std::optional<TaskLocalSnapshot> expected_local = local_snapshot;
    if (!expected_local.has_value()) {
      auto held = subtask.held_before_restart.find(restore->checkpoint_id);
      if (held != subtask.held_before_restart.end()) expected_local = held->second;
    }
    if (!local_snapshot_error.ok()) event.local_restore_error = local_snapshot_error.ToString();
    if (expected_local.has_value() && expected_local->count(op) > 0) {
      const IncrementalLocalKeyedStateHandle& local = expected_local->at(op);
      event.local_copy_available = subtask.machine->env()->FileExists(local.directory).ok();
      event.local_directory = local.directory;
      auto reloaded = subtask.reloaded_local.find(restore->checkpoint_id);
      event.local_copy_reloaded = reloaded != subtask.reloaded_local.end();
      event.local_copy_from_before_power_loss = event.local_copy_reloaded && reloaded->second;
    }
  }
  const int64_t restore_started = runtime_->NowMicros();
  absl::StatusOr<std::unique_ptr<KeyedStateTask>> task = KeyedStateTask::Start(
      task_config, runtime_, subtask.storage.get(), subtask.local_store.get(), restore);
  if (restore.has_value()) {
    world_->RecordSpan("restore", absl::StrCat("restore subtask ", subtask.index, " from checkpoint ",
                                                   restore->checkpoint_id,
                                                   !task.ok() ? " FAILED"
                                                   : (*task)->restored_from_local_state() ? " (local)"
                                                                                          : " (remote)"),
                           restore_started,
                           {{"subtask", absl::StrCat(subtask.index)},
                            {"attempt", absl::StrCat(subtask.attempt.load())},
                            {"checkpoint", absl::StrCat(restore->checkpoint_id)},
                            {"source", !task.ok()                                ? "none"
                                       : (*task)->restored_from_local_state() ? "local"
                                                                                : "remote"},
                            {"status", task.ok() ? "OK" : task.status().ToString()}});
  }
  if (!task.ok()) {
    return absl::Status(task.status().code(), absl::StrCat("deploying subtask ", subtask.index, " attempt ",
                                                           subtask.attempt.load(), ": ", task.status().message()));
  }
  subtask.task = *std::move(task);
  for (int op = 0; op < config_.operators; ++op) {
    if (absl::Status status = subtask.task->backend(op).RegisterStates(JobStateMetaInfos()); !status.ok()) {
      return status;
    }
    JobEvent& event = events[op];
    event.restored_from_local_state = subtask.task->restored_from_local_state(op);
    if (!subtask.task->local_restore_error(op).ok()) {
      event.local_restore_error = subtask.task->local_restore_error(op).ToString();
    }
    event.backend_uid = subtask.task->backend_uid(op);
    PushEvent(std::move(event));
  }
  subtask.running = true;
  return absl::OkStatus();
}

std::unique_ptr<TaskLocalStateStore> SimJob::NewLocalStore(Subtask& subtask) {
  auto store = std::make_unique<TaskLocalStateStore>(subtask.machine->env(), LocalStateDirectory(subtask));
  const TaskLocalStateStore* self = store.get();
  store->SetStoredListener([this, &subtask, self](int64_t checkpoint_id, const TaskLocalSnapshot& snapshot) {
    // A store a dead process left behind tells nothing: its machine has a new one.
    if (subtask.local_store.get() != self) return;
    JobEvent event;
    event.kind = JobEvent::Kind::kLocalStored;
    event.subtask = subtask.index;
    event.checkpoint_id = checkpoint_id;
    for (const auto& [op, handle] : snapshot) event.operators.push_back(op);
    PushEvent(std::move(event));
  });
  return store;
}

void SimJob::ReportMachineLost(Subtask& subtask) {
  JobEvent event;
  event.kind = JobEvent::Kind::kMachineLost;
  event.subtask = subtask.index;
  event.files = subtask.machine->ListFiles(subtask.machine->root());
  PushEvent(std::move(event));
}

std::string SimJob::LocalStateDirectory(const Subtask& subtask) const {
  return absl::StrCat(subtask.machine->root(), "/localState/", config_.job_id, "/sti_", subtask.index);
}

absl::Status SimJob::CrashMachine(int subtask_index) {
  RuntimeMutexLock lock(job_master_);
  RestartEpoch epoch(&restart_epoch_);
  world_->Record("job", "machine crash");
  Subtask& crashed = *subtasks_[subtask_index];
  crashed.machine->Crash();
  for (auto& subtask : subtasks_) StopTask(*subtask);
  // The task manager process died with its local state store; the disk kept only what was synced. The new task
  // manager does not look at what the old one left (another working directory in Flink); the job's end deletes it.
  crashed.local_store = NewLocalStore(crashed);
  crashed.held_before_restart.clear();
  crashed.reloaded_local.clear();
  ReportMachineLost(crashed);
  return FailoverTasksLocked();
}

void SimJob::KillProcess(Subtask& killed, bool disk_kept) {
  // The process is gone at once: nothing it does from now on reaches storage or disk, and nobody closes its task.
  killed.storage->Kill();
  {
    RuntimeMutexLock lock(killed.mailbox);
    killed.running = false;
    if (killed.task != nullptr) killed_tasks_.push_back(std::move(killed.task));
    // A crashed disk: nobody deletes it. A disk that was kept: the restart deletes the dead process's directory.
    if (!disk_kept) killed.instance_path.clear();
  }
  std::unique_lock<std::mutex> orphans_lock(state_mutex_);
  for (const std::string& path : killed.storage->WrittenPaths()) {
    accepted_orphans_.insert_or_assign(path, absl::StrCat("written by subtask ", killed.index, " attempt ",
                                                          killed.attempt.load(),
                                                          ", killed hard before it could clean up"));
  }
  orphans_lock.unlock();
  killed_storage_.push_back(std::move(killed.storage));
  killed.storage = std::make_unique<ProcessStorage>(storage_);  // a new process
  // The dead process's snapshot may still finish and hand its local state to its store: that store touches
  // nothing any more, and its memory dies with the job, not now.
  killed.local_store->Abandon();
  killed_local_stores_.push_back(std::move(killed.local_store));
  killed.local_store = NewLocalStore(killed);
}

absl::Status SimJob::KillMachine(int subtask_index) {
  RuntimeMutexLock lock(job_master_);
  RestartEpoch epoch(&restart_epoch_);
  world_->Record("job", absl::StrCat("machine kill tm-", subtask_index));
  Subtask& killed = *subtasks_[subtask_index];
  killed.machine->Crash();
  // The new task manager starts with an empty store.
  KillProcess(killed, /*disk_kept=*/false);
  killed.held_before_restart.clear();
  killed.reloaded_local.clear();
  for (auto& subtask : subtasks_) StopTask(*subtask);
  ReportMachineLost(killed);
  return FailoverTasksLocked();
}

absl::Status SimJob::RestartMachine(int subtask_index, bool power_loss) {
  RuntimeMutexLock lock(job_master_);
  RestartEpoch epoch(&restart_epoch_);
  world_->Record("job", absl::StrCat(power_loss ? "machine reboot tm-" : "process restart tm-", subtask_index));
  Subtask& restarted = *subtasks_[subtask_index];
  if (power_loss) {
    restarted.machine->Crash();
  } else {
    restarted.machine->RestartProcess();
  }
  // What the dying process's store held, for the checker: the new one must find it again.
  std::map<int64_t, TaskLocalSnapshot> held;
  for (int64_t id : restarted.local_store->StoredCheckpoints()) {
    if (std::optional<TaskLocalSnapshot> snapshot = restarted.local_store->Peek(id)) {
      held[id] = *std::move(snapshot);
    } else if (auto earlier = restarted.held_before_restart.find(id); earlier != restarted.held_before_restart.end()) {
      held[id] = earlier->second;  // reloaded by the dying process, never read
    }
  }
  restarted.held_before_restart = std::move(held);
  KillProcess(restarted, /*disk_kept=*/true);
  // The new process finds the local state the old one persisted in its working directory.
  {
    JobEvent event;
    event.kind = JobEvent::Kind::kProcessRestarted;
    event.subtask = restarted.index;
    event.files = restarted.machine->ListFiles(LocalStateDirectory(restarted));
    PushEvent(std::move(event));
  }
  const int found = restarted.local_store->Reload();
  world_->Record("job", absl::StrCat("tm-", subtask_index, " reloaded ", found, " local snapshot(s)"));
  for (int64_t id : restarted.local_store->StoredCheckpoints()) restarted.reloaded_local[id] = power_loss;
  for (auto& subtask : subtasks_) StopTask(*subtask);
  return FailoverTasksLocked();
}

absl::StatusOr<KeyValueMap> SimJob::ActualState() {
  KeyValueMap state;
  for (int i = 0; i < config_.parallelism; ++i) {
    absl::StatusOr<KeyValueMap> part = ActualStateOf(i);
    if (!part.ok()) return part.status();
    state.insert(part->begin(), part->end());
  }
  return state;
}

absl::StatusOr<KeyValueMap> SimJob::ActualStateOf(int subtask_index) {
  Subtask& subtask = *subtasks_[subtask_index];
  RuntimeMutexLock lock(subtask.mailbox);
  if (!subtask.running) return absl::UnavailableError(absl::StrCat("subtask ", subtask.index, " not running"));
  return ReadTaskStates(*subtask.task, config_.max_parallelism);
}

KeyValueMap SimJob::ModelPartOf(const KeyValueMap& model, int subtask) const {
  KeyValueMap part;
  for (const auto& [key, value] : model) {
    if (SubtaskOf(RecordKeyOfModelKey(key)) == subtask) part.emplace(key, value);
  }
  return part;
}

void SimJob::ReportDiscarded(DiscardedSnapshotLog& log, int64_t checkpoint_id, int subtask, int64_t attempt) {
  for (const DiscardedOperatorSnapshot& discarded : log.Take(checkpoint_id)) {
    JobEvent event;
    event.kind = JobEvent::Kind::kSnapshotDiscarded;
    event.subtask = subtask;
    event.op = discarded.op;
    event.attempt = attempt;
    event.checkpoint_id = discarded.checkpoint_id;
    event.handle = discarded.handle;
    PushEvent(std::move(event));
  }
}

void SimJob::HandleTrigger(int subtask_index, int64_t attempt, int64_t checkpoint_id,
                           const CheckpointOptions& options, std::shared_ptr<CheckpointCoordinator> coordinator,
                           int generation) {
  Subtask& subtask = *subtasks_[subtask_index];
  RuntimeMutexLock lock(subtask.mailbox);
  if (!subtask.running || subtask.attempt != attempt) return;  // the attempt it was meant for is gone
  // The model's part at the synchronous snapshot: nothing writes while the mailbox is held. Recorded only for a
  // snapshot actually taken (a duplicated trigger must not overwrite it with a later state).
  KeyValueMap part;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    part = ModelPartOf(model_, subtask_index);
  }
  const bool failed_before = !subtask.task->failure().ok();
  absl::StatusOr<KeyedStateTask::SnapshotFuture> future = subtask.task->TriggerSnapshot(checkpoint_id, options);
  if (future.ok()) {
    {
      std::lock_guard<std::mutex> lock(state_mutex_);
      model_at_[checkpoint_id][subtask_index] = std::move(part);
    }
    JobEvent event;
    event.kind = JobEvent::Kind::kSnapshotStarted;
    event.subtask = subtask_index;
    event.attempt = attempt;
    event.checkpoint_id = checkpoint_id;
    event.options = options;
    KeyedStateTask* task = subtask.task.get();
    PushEventPerOperator(std::move(event), task->operators(),
                         [task](JobEvent& each) { each.backend_uid = task->backend_uid(each.op); });
  }
  auto decline = [this, coordinator, checkpoint_id, subtask_index, attempt, generation](
                     const absl::Status& status, CheckpointFailureReason failure_reason) {
    const absl::Status reason = Unshared(status);
    Send(Message{MessageKind::kDecline, checkpoint_id, subtask_index},
         [this, coordinator, checkpoint_id, subtask_index, attempt, reason, failure_reason, generation] {
           DecisionEvent details = TaskDecision(checkpoint_id, subtask_index, attempt);
           details.reason = std::string(CheckpointFailureReasonName(failure_reason));
           const uint64_t call = BeginCallTo(generation, DecisionEvent::Call::kDecline, details);
           coordinator->ReceiveDecline(
               DeclineCheckpoint{checkpoint_id, subtask_index, attempt, failure_reason, reason});
           EndCallTo(generation, DecisionEvent::Call::kDecline, call);
         });
  };
  auto outcome = [this, checkpoint_id, subtask_index, attempt, generation](
                     DecisionEvent::Outcome what, const absl::Status& status, bool task_running) {
    DecisionEvent event = TaskDecision(checkpoint_id, subtask_index, attempt);
    event.kind = DecisionEvent::Kind::kTaskOutcome;
    event.outcome = what;
    event.task_running = task_running;
    event.detail = std::string(status.message());
    LogDecisionTo(generation, std::move(event));
  };
  if (!future.ok()) {
    // This trigger's synchronous part failed (a task that had failed before refuses it instead).
    const bool synchronous_failure = !failed_before && !subtask.task->failure().ok();
    outcome(absl::IsAlreadyExists(future.status()) ? DecisionEvent::Outcome::kTriggerDuplicate
            : synchronous_failure                  ? DecisionEvent::Outcome::kSynchronousFailure
                                                   : DecisionEvent::Outcome::kTriggerRefused,
            future.status(), true);
    if (std::optional<CheckpointFailureReason> reason = DeclineReasonForTrigger(future.status())) {
      decline(future.status(), *reason);
    }
    // After the decline: Flink's Task declines TASK_FAILURE in the trigger's handler, then reports it failed.
    if (synchronous_failure) (void)FailTask(subtask, subtask.task->failure());
    if (std::optional<KeyedStateTask::SnapshotFuture> abandoned = subtask.task->AbandonedSnapshot(checkpoint_id)) {
      // A later operator's synchronous part failed: the earlier ones' parts were cancelled, but one may have
      // finished (and recorded its uploads) while the failing part ran. What they discarded reaches the checker.
      runtime_->Spawn(absl::StrCat("await-abandoned-snapshot-", checkpoint_id, "-", subtask_index),
                      [this, alive = alive_, abandoned = *abandoned,
                       discarded_log = subtask.task->discarded_snapshots(), checkpoint_id, subtask_index, attempt] {
                        (void)abandoned.Get();
                        if (!*alive) return;
                        ReportDiscarded(*discarded_log, checkpoint_id, subtask_index, attempt);
                      });
    }
    return;
  }
  runtime_->Spawn(absl::StrCat("await-snapshot-", checkpoint_id, "-", subtask_index),
                  [this, alive = alive_, process_dead = subtask.storage->dead_flag(), future = *future, decline,
                   outcome, coordinator, checkpoint_id, subtask_index, attempt, generation,
                   discarded_log = subtask.task->discarded_snapshots(), operators = subtask.task->operators()] {
                    const absl::StatusOr<TaskSnapshot>& result = future.Get();
                    if (!*alive || *process_dead) return;  // a killed process sends nothing
                    if (!result.ok()) {
                      ReportDiscarded(*discarded_log, checkpoint_id, subtask_index, attempt);
                      JobEvent failed;
                      failed.kind = JobEvent::Kind::kSnapshotFailed;
                      failed.subtask = subtask_index;
                      failed.attempt = attempt;
                      failed.checkpoint_id = checkpoint_id;
                      PushEventPerOperator(std::move(failed), operators);
                      const Subtask& subtask = *subtasks_[subtask_index];
                      const bool running = subtask.running && subtask.attempt == attempt;
                      outcome(absl::IsCancelled(result.status()) ? DecisionEvent::Outcome::kCancelled
                                                                 : DecisionEvent::Outcome::kAsynchronousFailure,
                              result.status(), running);
                      if (std::optional<CheckpointFailureReason> reason =
                              DeclineReasonForSnapshot(result.status(), running)) {
                        decline(result.status(), *reason);
                      }
                      return;
                    }
                    AcknowledgeCheckpoint ack{checkpoint_id, subtask_index, attempt, result->handles};
                    {
                      std::lock_guard<std::mutex> lock(state_mutex_);
                      const int64_t now = runtime_->NowMicros();
                      AcknowledgementTimes& times = acknowledgement_micros_[checkpoint_id];
                      if (times.sent++ == 0) times.first_sent = now;
                      times.last_sent = now;
                    }
                    std::vector<std::string> files;
                    for (size_t op = 0; op < result->handles.size(); ++op) {
                      JobEvent event;
                      event.kind = JobEvent::Kind::kAcknowledged;
                      event.subtask = subtask_index;
                      event.op = static_cast<int>(op);
                      event.attempt = attempt;
                      event.checkpoint_id = checkpoint_id;
                      event.handle = result->handles[op];
                      PushEvent(std::move(event));
                      if (result->handles[op].has_value()) {
                        std::vector<std::string> owned = OwnedPaths(*result->handles[op]);
                        files.insert(files.end(), owned.begin(), owned.end());
                      }
                    }
                    Send(Message{MessageKind::kAcknowledge, checkpoint_id, subtask_index, files},
                         [this, coordinator, ack, files, generation] {
                           if (coordinator->killed()) {
                             AcceptOrphans(files, ack.checkpoint_id);  // the coordinator it was sent to died
                             return;
                           }
                           {
                             std::lock_guard<std::mutex> lock(state_mutex_);
                             std::vector<std::string>& known =
                                 acknowledged_files_[coordinator.get()][ack.checkpoint_id];
                             known.insert(known.end(), files.begin(), files.end());
                             AcknowledgementTimes& times = acknowledgement_micros_[ack.checkpoint_id];
                             ++times.delivered;
                             times.last_delivered = runtime_->NowMicros();
                           }
                           const DecisionEvent details = TaskDecision(ack.checkpoint_id, ack.subtask, ack.attempt);
                           const uint64_t call = BeginCallTo(generation, DecisionEvent::Call::kAcknowledge, details);
                           coordinator->ReceiveAcknowledge(ack);
                           EndCallTo(generation, DecisionEvent::Call::kAcknowledge, call);
                         });
                  });
}

void SimJob::NotifyCheckpointComplete(int subtask_index, int64_t checkpoint_id, int64_t /*last_subsumed_id*/) {
  EndCheckpointSpan(checkpoint_id, "completed");
  const int64_t attempt = subtasks_[subtask_index]->attempt;
  Send(Message{MessageKind::kNotifyComplete, checkpoint_id, subtask_index}, [this, subtask_index, attempt,
                                                                              checkpoint_id] {
    Subtask& subtask = *subtasks_[subtask_index];
    RuntimeMutexLock lock(subtask.mailbox);
    if (subtask.running && subtask.attempt == attempt) {
      subtask.task->NotifyCheckpointComplete(checkpoint_id);
      JobEvent event;
      event.kind = JobEvent::Kind::kCompleteDelivered;
      event.subtask = subtask_index;
      event.attempt = attempt;
      event.checkpoint_id = checkpoint_id;
      PushEventPerOperator(std::move(event), subtask.task->operators());
    }
  });
}

void SimJob::NotifyCheckpointAborted(int subtask_index, int64_t checkpoint_id, int64_t latest_completed_id) {
  EndCheckpointSpan(checkpoint_id, "aborted");
  const int64_t attempt = subtasks_[subtask_index]->attempt;
  Send(Message{MessageKind::kNotifyAborted, checkpoint_id, subtask_index},
       [this, subtask_index, attempt, checkpoint_id, latest_completed_id] {
         Subtask& subtask = *subtasks_[subtask_index];
         RuntimeMutexLock lock(subtask.mailbox);
         if (subtask.running && subtask.attempt == attempt) {
           subtask.task->NotifyCheckpointAborted(checkpoint_id, latest_completed_id);
           JobEvent event;
           event.kind = JobEvent::Kind::kAbortDelivered;
           event.subtask = subtask_index;
           event.attempt = attempt;
           event.checkpoint_id = checkpoint_id;
           event.latest_completed_id = latest_completed_id;
           PushEventPerOperator(std::move(event), subtask.task->operators());
         }
       });
}

}  // namespace snapsim
