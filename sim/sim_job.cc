#include "sim/sim_job.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "backend/list_merge_operator.h"
#include "backend/local_files.h"
#include "snapshot/parallel_transfers.h"

namespace snapsim {

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

absl::string_view MessageKindName(MessageKind kind) {
  static constexpr const char* kNames[] = {"trigger",        "ack",           "decline",
                                           "notify-complete", "notify-aborted", "task-failed"};
  return kNames[static_cast<int>(kind)];
}

namespace {

constexpr char kValueState[] = "value";

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

// A message's trace arguments.
TraceArgs MessageArgs(const Message& message) {
  return {{"message", std::string(MessageKindName(message.kind))},
          {"checkpoint", absl::StrCat(message.checkpoint_id)},
          {"subtask", absl::StrCat(message.subtask)},
          {"files", absl::StrCat(message.files.size())}};
}

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

namespace {

// A restart or stop of the job master: the epoch moves when it begins and when it ends, so a reaction to a failure
// noticed before it (EnterRestarting) or during it does nothing: the restart answers that failure.
class RestartEpoch {
 public:
  explicit RestartEpoch(uint64_t* epoch) : epoch_(epoch) { ++*epoch_; }
  ~RestartEpoch() { ++*epoch_; }

 private:
  uint64_t* epoch_;
};

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

namespace {

// A decision-log event about one task's part of a checkpoint.
DecisionEvent TaskDecision(int64_t checkpoint_id, int subtask, int64_t attempt) {
  DecisionEvent event;
  event.checkpoint_id = checkpoint_id;
  event.subtask = subtask;
  event.attempt = attempt;
  return event;
}

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

CheckpointCoordinator::Result SimJob::Checkpoint(CheckpointKind kind) { return RequestCheckpoint(kind).Get(); }

CheckpointCoordinator::Result SimJob::Savepoint(SavepointFormat format, bool synchronous) {
  return RequestSavepoint(format, synchronous).Get();
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

namespace {

// A copy of `status` that shares no heap representation with it (code, message and payloads copied). A decline
// message carries its reason to another thread while the task may free the snapshot's Future that holds the
// original: absl::Status's shared representation is freed inside uninstrumented libabsl_status, whose ordering
// ThreadSanitizer cannot see (a false report under --config=tsan), so the message gets its own.
absl::Status Unshared(const absl::Status& status) {
  absl::Status copy(status.code(), std::string(status.message()));
  status.ForEachPayload([&copy](absl::string_view type_url, const absl::Cord& payload) {
    copy.SetPayload(type_url, absl::Cord(std::string(payload)));
  });
  return copy;
}

}  // namespace

void SimJob::SetMessageFaultHook(MessageFaultHook hook) {
  std::lock_guard<std::mutex> lock(state_mutex_);  // messages are sent from other threads (--fs=posix)
  message_fault_hook_ = std::move(hook);
}

void SimJob::Send(const Message& message, std::function<void()> deliver) {
  const std::string what = absl::StrCat(MessageKindName(message.kind), " ", message.checkpoint_id, " subtask ",
                                        message.subtask);
  // Decide under the bookkeeping lock; act (trace, spawn) after it.
  std::vector<HeldMessage> successors_of;
  std::optional<MessageRule> applied;
  MessageFaultHook fault_hook;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    fault_hook = message_fault_hook_;
    // A message held for reordering goes right after this one, its successor.
    for (auto it = held_messages_.begin(); it != held_messages_.end();) {
      if (it->reorder && it->message.kind == message.kind && it->message.subtask == message.subtask) {
        successors_of.push_back(std::move(*it));
        it = held_messages_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto rule = message_rules_.begin(); rule != message_rules_.end(); ++rule) {
      if (rule->kind != message.kind || (rule->subtask >= 0 && rule->subtask != message.subtask)) continue;
      applied = *rule;
      if (--rule->count <= 0) message_rules_.erase(rule);
      if (applied->action == MessageRule::Action::kHold || applied->action == MessageRule::Action::kReorder) {
        held_messages_.push_back(HeldMessage{message, deliver, applied->action == MessageRule::Action::kReorder});
      }
      break;
    }
  }
  if (applied.has_value()) {
    switch (applied->action) {
      case MessageRule::Action::kDrop:
        world_->Record("job", absl::StrCat("drop ", what, " (scripted)"));
        Lost(message);
        break;
      case MessageRule::Action::kDuplicate:
        world_->Record("job", absl::StrCat("duplicate ", what, " (scripted)"));
        Dispatch(message, deliver, 2, 0);
        break;
      case MessageRule::Action::kDelay:
        world_->Record("job", absl::StrCat("delay ", what, " by ", applied->delay_micros, "us (scripted)"));
        Dispatch(message, deliver, 1, applied->delay_micros);
        break;
      case MessageRule::Action::kHold:
      case MessageRule::Action::kReorder:
        world_->Record("job", absl::StrCat(applied->action == MessageRule::Action::kHold ? "hold " : "reorder ", what,
                                           " (scripted)"));
        break;
    }
  } else {
    const MessageFate fate = fault_hook ? fault_hook(message) : MessageFate::kDeliver;
    static constexpr const char* kFates[] = {"send", "drop", "duplicate"};
    world_->Record("job", absl::StrCat(kFates[static_cast<int>(fate)], " ", what));
    if (fate != MessageFate::kDrop) {
      Dispatch(message, deliver, fate == MessageFate::kDuplicate ? 2 : 1, 0, fate == MessageFate::kDeliver);
    }
    if (fate == MessageFate::kDrop) Lost(message);
  }
  // A message held for reordering arrives after its successor: one microsecond past the latest latency drawn.
  for (HeldMessage& held : successors_of) {
    world_->Record("job", absl::StrCat("send ", MessageKindName(held.message.kind), " ", held.message.checkpoint_id,
                                       " subtask ", held.message.subtask, " (reordered after ", message.checkpoint_id,
                                       ")"));
    Dispatch(held.message, held.deliver, 1, config_.message_latency_micros_max + 1);
  }
}

void SimJob::Lost(const Message& message) {
  std::lock_guard<std::mutex> lock(state_mutex_);
  for (const std::string& path : message.files) {
    accepted_orphans_.insert_or_assign(path, absl::StrCat("acknowledged by subtask ", message.subtask,
                                                          " for checkpoint ", message.checkpoint_id,
                                                          " in a message that was lost"));
  }
}

void SimJob::Dispatch(const Message& message, std::function<void()> deliver, int copies,
                      int64_t extra_latency_micros, bool fifo) {
  const bool to_task = message.kind == MessageKind::kTrigger || message.kind == MessageKind::kNotifyComplete ||
                       message.kind == MessageKind::kNotifyAborted;
  const std::pair<bool, int> channel(to_task, message.subtask);
  for (int copy = 0; copy < copies; ++copy) {
    int64_t latency = extra_latency_micros;
    {
      std::lock_guard<std::mutex> lock(state_mutex_);
      latency +=
          static_cast<int64_t>(prng_.UniformBelow(static_cast<uint64_t>(config_.message_latency_micros_max) + 1));
      if (fifo) {
        const int64_t now = runtime_->NowMicros();
        auto [last, inserted] = channel_last_delivery_.emplace(channel, 0);
        latency = std::max(latency, last->second + 1 - now);
        last->second = now + latency;
      }
    }
    // The simulation delivers in due-time order; real threads need turns (0: none).
    uint64_t turn = 0;
    if (fifo && !world_->deterministic()) {
      std::lock_guard<std::mutex> lock(channel_turns_->mutex);
      turn = ++channel_turns_->sent[channel];
    }
    runtime_->Spawn(absl::StrCat("rpc-", MessageKindName(message.kind), "-", message.checkpoint_id, "-",
                                 message.subtask),
                    [alive = alive_, world = world_, latency, deliver, turns = channel_turns_, channel, turn,
                     what = absl::StrCat("deliver ", MessageKindName(message.kind), " ", message.checkpoint_id,
                                         " subtask ", message.subtask),
                     args = MessageArgs(message),
                     receiver = to_task ? absl::StrCat("subtask ", message.subtask) : std::string("coordinator")] {
                      world->SetPart(receiver);
                      world->runtime().SleepForMicros(latency);
                      if (turn > 0) {
                        for (;;) {
                          {
                            std::lock_guard<std::mutex> lock(turns->mutex);
                            if (turns->delivered[channel] + 1 == turn) break;
                          }
                          world->runtime().SleepForMicros(100);
                        }
                      }
                      if (*alive) {
                        world->Record("job", what, args);
                        deliver();
                      }
                      if (turn > 0) {
                        std::lock_guard<std::mutex> lock(turns->mutex);
                        ++turns->delivered[channel];
                      }
                    });
  }
}

int SimJob::ReleaseHeldMessages(MessageKind kind, int subtask) {
  std::vector<HeldMessage> released;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    for (auto it = held_messages_.begin(); it != held_messages_.end();) {
      if (!it->reorder && it->message.kind == kind && (subtask < 0 || it->message.subtask == subtask)) {
        released.push_back(std::move(*it));
        it = held_messages_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (HeldMessage& message : released) {
    world_->Record("job", absl::StrCat("deliver held ", MessageKindName(kind), " ", message.message.checkpoint_id,
                                       " subtask ", message.message.subtask));
    Dispatch(message.message, message.deliver, 1, 0);
  }
  return static_cast<int>(released.size());
}

int SimJob::ReleaseAllHeldMessages() {
  std::vector<HeldMessage> held;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    held = std::exchange(held_messages_, {});
  }
  for (HeldMessage& message : held) {
    world_->Record("job", absl::StrCat("deliver held ", MessageKindName(message.message.kind), " ",
                                       message.message.checkpoint_id, " subtask ", message.message.subtask));
    Dispatch(message.message, message.deliver, 1, 0);
  }
  return static_cast<int>(held.size());
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

void SimJob::TriggerCheckpoint(int subtask, int64_t attempt, int64_t checkpoint_id,
                               const CheckpointOptions& options) {
  int generation = 0;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    checkpoint_started_micros_.emplace(checkpoint_id, runtime_->NowMicros());
    generation = coordinator_generation_;
  }
  std::shared_ptr<CheckpointCoordinator> coordinator = coordinator_;
  Send(Message{MessageKind::kTrigger, checkpoint_id, subtask},
       [this, subtask, attempt, checkpoint_id, options, coordinator, generation] {
         HandleTrigger(subtask, attempt, checkpoint_id, options, coordinator, generation);
       });
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
                      auto [times, first] = acknowledgement_micros_.emplace(checkpoint_id, std::make_pair(now, now));
                      if (!first) times->second.second = now;
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
