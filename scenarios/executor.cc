#include "scenarios/executor.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "sim/prng.h"
#include "sim/sim_job.h"
#include "sim/sim_object_store.h"
#include "faults/fault_model.h"
#include "sim/posix_world.h"
#include "sim/sim_scheduler.h"
#include "snapshot/checkpoint_failure_reason.h"

namespace snapsim {
namespace {

constexpr int64_t kMicrosPerMilli = 1000;

RestoreMode ParseRestoreMode(const std::string& name) {
  if (name == "claim") return RestoreMode::kClaim;
  if (name == "legacy") return RestoreMode::kLegacy;
  return RestoreMode::kNoClaim;
}

MessageKind ParseMessageKind(const std::string& name) {
  if (name == "trigger") return MessageKind::kTrigger;
  if (name == "ack") return MessageKind::kAcknowledge;
  if (name == "decline") return MessageKind::kDecline;
  if (name == "notify-complete") return MessageKind::kNotifyComplete;
  return MessageKind::kNotifyAborted;
}

// A snapshot name bound by `as=`.
struct NamedSnapshot {
  std::string job_id;
  int64_t checkpoint_id = 0;
  std::string pointer;
  bool savepoint = false;
};

class Execution {
 public:
  Execution(const Scenario& scenario, const RunOptions& options, std::unique_ptr<JobWorld> world)
      : scenario_(scenario),
        options_(options),
        world_(std::move(world)),
        root_(scenario.config.seed),
        checker_(world_.get(), scenario.config.seed),
        faults_(Prng(scenario.config.seed).Child("faults")),
        start_micros_(world_->runtime().NowMicros()) {
    if (auto* sim = dynamic_cast<SimWorld*>(world_.get())) {
      faults_.Install(&sim->object_store());
      sim->SetDiskFaultHook([this](const std::string& machine, const FsOperation& operation) {
        return faults_.DecideDisk(machine, operation);
      });
    }
    // Every fault that fires is an event of its own on the trace's "fault" process.
    faults_.SetObserver([this](const FiredFault& fired) {
      TraceArgs args = {{"kind", std::string(FaultKindName(fired.kind))},
                        {"operation", fired.operation},
                        {"path", fired.path},
                        {"armed_at_step", absl::StrCat(fired.armed_at_step)}};
      if (!fired.machine.empty()) args.push_back({"machine", fired.machine});
      world_->Record("fault", absl::StrCat(FaultKindName(fired.kind), ": ", fired.operation, " ", fired.path),
                     std::move(args));
    });
    checker_.SetFaultExplanation([this](absl::string_view error) { return faults_.Explains(error); });
    checker_.SetLossExplanation([this](absl::string_view error) { return faults_.ExplainsLoss(error); });
  }
  ~Execution() {
    // The injector goes before the world: nothing the world still runs may reach it.
    if (auto* sim = dynamic_cast<SimWorld*>(world_.get())) {
      job_.reset();
      sim->SetDiskFaultHook(nullptr);
      sim->object_store().SetFaultInjector(nullptr);
    }
  }

  RunResult Run();

 private:
  // Microseconds since the run started (virtual in simulation).
  int64_t Now() { return world_->runtime().NowMicros() - start_micros_; }

  // A step's outcome: nothing (go on), a violation, or bad input.
  struct Outcome {
    std::optional<Violation> violation;
    std::string bad_input;
    bool restarted = false;
  };
  Outcome Execute(const ScenarioStep& step);
  Outcome BadInput(const ScenarioStep& step, absl::string_view parameter, absl::string_view what) const;
  Outcome Unexpected(const ScenarioStep& step, absl::string_view what, const absl::Status& status) const;
  // A task failed (`cause`): injected, the job restarts its tasks as Flink's job master does; otherwise a bug.
  Outcome TaskFailed(const ScenarioStep& step, absl::string_view what, const absl::Status& cause);
  // The coordinator asked for a failover (too many checkpoints failed in a row; a declined synchronous savepoint):
  // each failure was judged where it happened, so the job restarts its tasks, as Flink's job master does.
  Outcome FailoverRequested(const ScenarioStep& step, const absl::Status& cause);
  // The failover-tasks, failover-coordinator and crash steps' restart, also after a task failure.
  Outcome Restart(const ScenarioStep& step, const std::string& verb);
  // The job cannot restart for a loss the fault model allows (`error`, storage-rot): it fails for good, as a Flink
  // job whose restart strategy gives up; later steps that need a job are skipped until a resume starts one.
  void LoseJob(const ScenarioStep& step, const std::string& error);
  // A task that failed on its own or a failover the coordinator asked for since the last look: the job restarts its
  // tasks (TaskFailed / FailoverRequested). Nothing when neither happened.
  std::optional<Outcome> AnswerFailures(const ScenarioStep& step);
  Outcome SnapshotStep(const ScenarioStep& step, bool savepoint);
  // Waits for a snapshot's outcome; a violation (invariant 9) when the run came to a standstill first: nothing could
  // ever end it (a checkpoint whose timeout never fires), which the simulation reports instead of stopping.
  std::optional<Violation> AwaitOutcome(const Future<CheckpointCoordinator::Result>& future, int step,
                                        absl::string_view what);
  // `job_id`: the job that triggered it (an older job's completed trigger was learned before that job stopped).
  Outcome Record(const ScenarioStep& step, const std::string& name, const std::string& expect, bool savepoint,
                 const CheckpointCoordinator::Result& result, const std::string& job_id);
  Outcome Resume(const ScenarioStep& step);
  Outcome RestoreCheck(const ScenarioStep& step);
  Outcome Quiesce(const ScenarioStep& step);
  Outcome Liveness(const ScenarioStep& step);
  // A snapshot that expired: its checkpoint id, when its failure was learned, when storage last committed then.
  struct Expired {
    int64_t id;
    int64_t expired_at;
    int64_t last_commit;
  };
  // The expiry `result` reports, learned now; nullopt if it is another failure (or a success).
  std::optional<Expired> ExpiryOf(const CheckpointCoordinator::Result& result) const;
  // Whether the tasks were still working when `attempt` expired (a job slower than its timeout, not a stuck one),
  // with what shows it appended to `evidence` (see Liveness).
  bool SlowNotStuck(const Expired& attempt, std::string* evidence) const;
  std::optional<Violation> RestoreNewSnapshots(int step);
  absl::StatusOr<const KnownSnapshot*> Resolve(const ScenarioStep& step, const std::string& name);
  SimJobConfig JobConfig() const;
  std::string Dump();
  void Finish(RunResult* result);
  // Records `step` as the first step of every counter above zero that was not before (RunResult::coverage_first_step).
  void NoteFirstReached(int step) {
    auto note = [&](const std::string& name, int count) {
      if (count > 0) first_reached_.emplace(name, step);
    };
    for (const auto& [name, count] : coverage_) note(name, count);
    for (const auto& [name, count] : checker_.coverage()) note(name, count);
    for (const auto& [kind, count] : faults_.Injected()) note(absl::StrCat("fault ", kind), count);
  }
  // Moves a violation of an invariant the options do not judge into result->unjudged.
  void Judge(std::optional<Violation>* violation, RunResult* result) const;

  const Scenario& scenario_;
  const RunOptions& options_;
  // Declared first: destroyed after the job and the checker that use it.
  std::unique_ptr<JobWorld> world_;
  Prng root_;
  Checker checker_;
  FaultInjector faults_;
  int64_t start_micros_ = 0;
  std::unique_ptr<SimJob> job_;
  SimJobConfig config_;
  int jobs_started_ = 0;
  int checkpoints_completed_ = 0;
  std::map<std::string, NamedSnapshot> names_;
  // Snapshots triggered with wait=no, by name, until `await` (or the end of the run) takes them.
  struct PendingTrigger {
    Future<CheckpointCoordinator::Result> future;
    bool savepoint = false;
    std::string expect;
    // The job that triggered it: only that job's checker view may learn what it completed.
    std::string job_id;
  };
  // The checker learns every finished trigger of the running job (a completed savepoint is the user's from its
  // completion, awaited or not): before leak checks and before the job stops.
  void LearnFinishedTriggers();
  std::map<std::string, PendingTrigger> pending_;
  std::vector<std::string> notes_;
  // What the step's progress line says instead of "ok" (a snapshot that failed, allowed to or as expected).
  std::string step_status_;
  std::map<std::string, int> coverage_;
  std::map<std::string, int> first_reached_;
  // Why the current job was lost ("" while there is one or it was stopped by a step).
  std::string lost_;
  // Names of snapshots the scenario required that a job slower than its checkpoint timeout could not take, with why
  // (SnapshotStep): a resume from one is skipped, and so is the rest of the run's job.
  std::map<std::string, std::string> unavailable_names_;
  // How the last `stop` ended the job (cancel and suspend retain its checkpoints).
  std::optional<JobStatus> stop_status_;
};

SimJobConfig Execution::JobConfig() const {
  const ScenarioConfig& config = scenario_.config;
  SimJobConfig job;
  job.parallelism = config.parallelism;
  job.max_parallelism = config.max_parallelism;
  job.operators = config.operators;
  job.incremental = config.incremental;
  job.local_recovery = config.local_recovery;
  job.restore_mode = ParseRestoreMode(config.restore_mode);
  job.checkpoint_interval_micros = config.checkpoint_interval_ms * kMicrosPerMilli;
  job.checkpoint_timeout_micros = config.checkpoint_timeout_ms * kMicrosPerMilli;
  // Real time: a timeout is a timer someone waits out (at quiescence), capped so that a run stays short, and raised
  // to a floor so that a loaded machine's slowness does not expire a checkpoint the scenario requires (a timeout
  // under the floor's tenth stands for "expires at once" and is kept). PosixWorld says why each bound.
  if (!world_->deterministic() && job.checkpoint_timeout_micros >= PosixWorld::kMinCheckpointTimeoutMicros / 10) {
    job.checkpoint_timeout_micros =
        std::clamp<int64_t>(job.checkpoint_timeout_micros, PosixWorld::kMinCheckpointTimeoutMicros,
                            PosixWorld::kMaxCheckpointTimeoutMicros);
  }
  job.max_concurrent_checkpoints = config.max_concurrent_checkpoints;
  job.num_retained = config.retained_checkpoints;
  job.upload_threads = config.upload_threads;
  job.inline_threshold = static_cast<uint64_t>(config.inline_threshold);
  job.tolerable_failed_checkpoints = config.tolerable_failures;
  job.min_pause_micros = config.min_pause_ms * kMicrosPerMilli;
  job.message_latency_micros_max = config.message_latency_ms_max * kMicrosPerMilli;
  return job;
}

Execution::Outcome Execution::BadInput(const ScenarioStep& step, absl::string_view parameter,
                                       absl::string_view what) const {
  SourceLocation location = step.location;
  if (auto found = step.arguments.find(std::string(parameter)); found != step.arguments.end() &&
                                                                 found->second.location.column > 0) {
    location = found->second.location;
  }
  Outcome outcome;
  outcome.bad_input = absl::StrCat(scenario_.origin, ":", location.line, ":", location.column, ": step ",
                                   step.number, " ", step.verb, ": ", what);
  return outcome;
}

Execution::Outcome Execution::Unexpected(const ScenarioStep& step, absl::string_view what,
                                         const absl::Status& status) const {
  Outcome outcome;
  outcome.violation = MakeViolation(0, step.number, absl::StrCat(what, ": ", status.ToString()));
  return outcome;
}

absl::StatusOr<const KnownSnapshot*> Execution::Resolve(const ScenarioStep& step, const std::string& name) {
  if (absl::StartsWith(name, "path:")) {
    const std::string pointer = name.substr(5);
    if (const KnownSnapshot* snapshot = checker_.FindByPointer(pointer)) return snapshot;
    return absl::NotFoundError(absl::StrCat("no completed snapshot of this run is at '", pointer, "'"));
  }
  if (name == "latest") {
    // The latest retained checkpoint of the current (possibly stopped) job.
    // A claimed checkpoint is known under both jobs: look it up under the current one.
    const KnownSnapshot* latest = nullptr;
    for (const KnownSnapshot* live : checker_.LiveSnapshots(job_.get())) {
      const KnownSnapshot* snapshot = checker_.Find(live->checkpoint_id, config_.job_id);
      if (snapshot == nullptr || snapshot->pointer != live->pointer || snapshot->savepoint) continue;
      if (latest == nullptr || snapshot->checkpoint_id > latest->checkpoint_id) latest = snapshot;
    }
    if (latest == nullptr) return absl::NotFoundError("there is no retained checkpoint to call `latest`");
    return latest;
  }
  auto found = names_.find(name);
  if (found == names_.end()) {
    if (pending_.count(name) > 0) {
      return absl::FailedPreconditionError(absl::StrCat("snapshot '", name, "' was triggered with wait=no: await it"));
    }
    return absl::NotFoundError(absl::StrCat("no completed snapshot is named '", name, "'"));
  }
  const KnownSnapshot* snapshot = checker_.Find(found->second.checkpoint_id, found->second.job_id);
  if (snapshot == nullptr) {
    return absl::InternalError(
        absl::StrCat("the checker never saw snapshot '", name, "' (", found->second.pointer, ")"));
  }
  (void)step;
  return snapshot;
}

Execution::Outcome Execution::Record(const ScenarioStep& step, const std::string& name, const std::string& expect,
                                     bool savepoint, const CheckpointCoordinator::Result& result,
                                     const std::string& job_id) {
  Outcome outcome;
  const char* what = savepoint ? "savepoint" : "checkpoint";
  if (result.ok()) {
    ++checkpoints_completed_;
    if (job_ != nullptr && job_id == config_.job_id) checker_.OnCompleted(*job_, **result);
    if (savepoint) {
      ++coverage_[(*result)->properties.format == SavepointFormat::kCanonical ? "savepoint canonical"
                                                                              : "savepoint native"];
    }
    if (!name.empty()) {
      names_[name] = NamedSnapshot{job_id, (*result)->checkpoint_id, (*result)->external_pointer,
                                   savepoint};
    }
    world_->Record("scenario", absl::StrCat(what, " ", (*result)->checkpoint_id, " completed",
                                                    name.empty() ? "" : absl::StrCat(" as ", name)));
    if (expect == "failed") {
      outcome.violation = MakeViolation(
          0, step.number, absl::StrCat("the ", what, " was expected to fail but completed"), (*result)->checkpoint_id);
    }
  } else {
    world_->Record("scenario", absl::StrCat(what, " failed: ", result.status().message()));
    notes_.push_back(absl::StrCat("step ", step.number, ": ", what, " failed: ", result.status().message()));
    const std::optional<CheckpointFailureReason> reason = FailureReasonOf(result.status());
    step_status_ = absl::StrCat(what, " failed ",
                                expect == "failed" ? std::string("as expected")
                                                   : absl::StrCat("(allowed: expect=", expect, ")"),
                                ": ",
                                reason.has_value() ? CheckpointFailureReasonName(*reason)
                                                   : absl::StatusCodeToString(result.status().code()));
    if (absl::StrContains(result.status().message(), "unknown state")) ++coverage_["decline by registration"];
    if (absl::StrContains(result.status().message(), "EXPIRED")) ++coverage_["checkpoint expired"];
    // The coordinator's own reasons (expired, subsumed, declined as subsumed, failover, shutdown) carry no I/O
    // error; an I/O error that no fault injected is a bug (faults/fault_model.h: the marker).
    const absl::string_view message = result.status().message();
    const bool io_error = absl::StrContains(message, "UNAVAILABLE") || absl::StrContains(message, "DATA_LOSS") ||
                          absl::StrContains(message, "INTERNAL") || absl::StrContains(message, "IO error");
    if (io_error && !faults_.Explains(message)) {
      outcome.violation = MakeViolation(0, step.number, absl::StrCat("the ", what, " failed with an error no fault "
                                                                     "injected: ", message));
      return outcome;
    }
    if (expect == "completed") {
      outcome.violation = MakeViolation(
          9, step.number, absl::StrCat("the ", what, " was required to complete: ", result.status().ToString()));
    }
  }
  return outcome;
}

Execution::Outcome Execution::SnapshotStep(const ScenarioStep& step, bool savepoint) {
  if (job_ == nullptr || job_->stopped()) return BadInput(step, "", "no running job");
  const std::string& name = step.Text("as");
  if (!name.empty() && (names_.count(name) > 0 || pending_.count(name) > 0)) {
    return BadInput(step, "as", absl::StrCat("the name '", name, "' is already taken"));
  }
  auto request = [&] {
    if (savepoint) {
      const SavepointFormat format =
          step.Text("format") == "canonical" ? SavepointFormat::kCanonical : SavepointFormat::kNative;
      return job_->RequestSavepoint(format, step.Flag("sync"));
    }
    return job_->RequestCheckpoint(step.Text("kind") == "full" ? CheckpointKind::kFullCheckpoint
                                                                : CheckpointKind::kCheckpoint);
  };
  Future<CheckpointCoordinator::Result> future = request();
  if (!step.Flag("wait")) {
    const std::string key = name.empty() ? absl::StrCat("#", step.number) : name;
    pending_[key] = PendingTrigger{future, savepoint, step.Text("expect"), config_.job_id};
    return Outcome{};
  }
  const char* what = savepoint ? "savepoint" : "checkpoint";
  if (std::optional<Violation> stuck = AwaitOutcome(future, step.number, what)) {
    Outcome outcome;
    outcome.violation = stuck;
    return outcome;
  }
  CheckpointCoordinator::Result result = future.Get();
  // A snapshot the scenario requires (expect=completed; a resume from its name may follow) that expired while the
  // tasks were still working is taken again, up to twice, as the liveness step retries: a job slower than its
  // checkpoint timeout (a 100 ms timeout and 10 ms messages) expires snapshots in Flink too, which is no bug. A stuck
  // job (no task working at the expiry) still fails the step. (Found shrinking swarm seed 30175: its quiet period's
  // savepoint expired with every task done and an acknowledgement still on its way.)
  int attempts = 1;
  for (; attempts < 3 && step.Text("expect") == "completed" && !job_->stopped(); ++attempts) {
    const std::optional<Expired> expiry = ExpiryOf(result);
    std::string evidence;
    if (!expiry.has_value() || !SlowNotStuck(*expiry, &evidence)) break;
    ++coverage_["required snapshot taken again: it expired in a slow job"];
    notes_.push_back(absl::StrCat("step ", step.number, ": the ", what, " expired in a job slower than its timeout (",
                                  evidence, "): taken again"));
    future = request();
    if (std::optional<Violation> stuck = AwaitOutcome(future, step.number, what)) {
      Outcome outcome;
      outcome.violation = stuck;
      return outcome;
    }
    result = future.Get();
  }
  std::string evidence;
  const std::optional<Expired> expiry = step.Text("expect") == "completed" ? ExpiryOf(result) : std::nullopt;
  if (expiry.has_value() && SlowNotStuck(*expiry, &evidence)) {
    // Every attempt expired with the tasks still working: the timeout is shorter than this snapshot takes. Not
    // judged; what would have used the snapshot's name is skipped.
    ++coverage_["required snapshot not judged: timeout shorter than a snapshot"];
    const std::string why = absl::StrCat("the ", what, " of step ", step.number, " expired ", attempts,
                                         " time(s) in a job slower than its timeout (", evidence, ")");
    notes_.push_back(absl::StrCat("step ", step.number, ": not judged: ", why));
    if (!name.empty()) unavailable_names_[name] = why;
    return Record(step, name, "any", savepoint, result, config_.job_id);
  }
  return Record(step, name, step.Text("expect"), savepoint, result, config_.job_id);
}

std::optional<Violation> Execution::AwaitOutcome(const Future<CheckpointCoordinator::Result>& future, int step,
                                                 absl::string_view what) {
  // A snapshot is decided by its timeout: one that is not within twice its timeout and a minute more (the trigger
  // may wait for the min pause, a concurrent checkpoint or a slow store) never will be; timers that keep firing
  // meanwhile (periodic triggers) must not keep the run going forever (the simulation wakes the wait instead).
  const int64_t bound = 2 * config_.checkpoint_timeout_micros + 60'000'000;
  const int64_t since = Now();
  world_->SetWaitHorizon(since + bound);
  const bool decided = future.WaitUnlessDeadlocked();
  const bool outlived = world_->wait_horizon_reached();
  world_->SetWaitHorizon(INT64_MAX);
  if (decided) return std::nullopt;
  // The decision model says which decision was missing (a checkpoint that should have expired), when it can.
  if (job_ != nullptr) {
    if (std::optional<Violation> judged = checker_.AfterStandstill(*job_, step)) return judged;
  }
  if (!outlived) {
    return MakeViolation(9, step, absl::StrCat("the ", what, " neither completed nor failed: the run came to a ",
                                               "standstill waiting for it (nothing left to run, no timer pending)"));
  }
  return MakeViolation(9, step, absl::StrCat("the ", what, " neither completed nor failed within ", ReadableTime(bound),
                                             " (twice its timeout and a minute): it outlived its timeout while the ",
                                             "job went on"));
}

Execution::Outcome Execution::Resume(const ScenarioStep& step) {
  if (job_ != nullptr && !job_->stopped()) return BadInput(step, "", "resume needs a stopped job (add a stop step)");
  absl::StatusOr<const KnownSnapshot*> snapshot = Resolve(step, step.Text("from"));
  if (!snapshot.ok() && !lost_.empty()) {
    // What the lost job would have named (a savepoint it never took, its latest checkpoint) does not exist.
    notes_.push_back(absl::StrCat("step ", step.number, " skipped: the job was lost (", snapshot.status().message(),
                                  ")"));
    return Outcome{};
  }
  if (auto unavailable = unavailable_names_.find(step.Text("from"));
      !snapshot.ok() && unavailable != unavailable_names_.end()) {
    notes_.push_back(absl::StrCat("step ", step.number, " skipped, and the job's steps after it: ",
                                  unavailable->second));
    lost_ = unavailable->second;  // no job from here on, as after a loss
    return Outcome{};
  }
  const int64_t completed = checker_.LatestCheckpointOf(config_.job_id);
  if (!snapshot.ok() && step.Text("from") == "latest" && completed >= 0 &&
      (stop_status_ == JobStatus::kCanceled || stop_status_ == JobStatus::kSuspended)) {
    // Cancelling or suspending retains the job's checkpoints: one completed, so one must be there to resume from
    // (a savepoint or a cleanup that removed it is a retention bug, not bad input).
    Outcome outcome;
    outcome.violation = MakeViolation(11, step.number,
                                      absl::StrCat("the stopped job retains no checkpoint to resume from, although "
                                                   "checkpoint ", completed, " completed and ",
                                                   JobStatusName(*stop_status_), " retains checkpoints"),
                                      completed);
    return outcome;
  }
  if (!snapshot.ok()) return BadInput(step, "from", snapshot.status().message());
  SimJobConfig config = config_;
  config.job_id = absl::StrCat("job-", ++jobs_started_);
  if (step.Text("mode") != "same") config.incremental = step.Text("mode") == "incremental";
  if (step.Text("restore_mode") != "same") config.restore_mode = ParseRestoreMode(step.Text("restore_mode"));
  if (step.Text("local_recovery") != "same") config.local_recovery = step.Text("local_recovery") == "on";
  if (step.Text("parallelism") != "same") config.parallelism = static_cast<int>(step.Int("parallelism"));
  if (step.Text("max_parallelism") != "same") config.max_parallelism = static_cast<int>(step.Int("max_parallelism"));
  if (step.Text("operators") != "same") config.operators = static_cast<int>(step.Int("operators"));
  if (config.parallelism > config.max_parallelism) {
    return BadInput(step, "parallelism", "parallelism exceeds max_parallelism");
  }
  const KnownSnapshot restored = **snapshot;
  // The stopped job goes first: its teardown drains its activities, which must not wait on the new job's. What it
  // accepted as orphans after it stopped (an acknowledgement lost on its way to the stopped coordinator) is the
  // checker's to know: the leak check only asks the running job (property test, RapidCheck seed 641073).
  if (job_ != nullptr) {
    job_->Drain();
    checker_.AcceptOrphans(job_->AcceptedOrphans());
  }
  job_.reset();
  absl::StatusOr<std::unique_ptr<SimJob>> started = SimJob::Start(config, world_.get(), root_,
                                                                  SimJobRestore{restored.pointer, restored.model});
  // A resume refused by an injected fault (a metadata download) is submitted again, as a user would.
  for (int retry = 1; retry < 5 && !started.ok() && faults_.Explains(started.status().message()); ++retry) {
    notes_.push_back(absl::StrCat("step ", step.number, ": resume failed by an injected fault, submitted again: ",
                                  started.status().message()));
    // A submission is a new job (Flink gives it a new job id): the failed one may have left its store behind.
    config.job_id = absl::StrCat("job-", ++jobs_started_);
    started = SimJob::Start(config, world_.get(), root_, SimJobRestore{restored.pointer, restored.model});
  }
  Outcome outcome;
  if (step.Text("expect") == "failed") {
    if (started.ok()) {
      outcome.violation = MakeViolation(1, step.number,
                                        absl::StrCat("resuming from ", restored.pointer, " was expected to be refused "
                                                     "but the job started"));
      job_ = *std::move(started);
      config_ = config;
      checker_.OnJobStarted(*job_, &restored, config.restore_mode);
    } else {
      notes_.push_back(
          absl::StrCat("step ", step.number, ": resume refused as expected: ", started.status().message()));
    }
    return outcome;
  }
  if (!started.ok() && faults_.ExplainsLoss(started.status().message())) {
    LoseJob(step, started.status().ToString());
    return outcome;
  }
  if (!started.ok()) {
    outcome.violation = MakeViolation(1, step.number,
                                      absl::StrCat("resuming from ", restored.pointer, " failed: ",
                                                   started.status().ToString()),
                                      restored.checkpoint_id);
    return outcome;
  }
  ++coverage_[absl::StrCat("resume ", RestoreModeName(config.restore_mode))];
  if (config.incremental != config_.incremental) ++coverage_["resume switching full <-> incremental"];
  if (config.parallelism != config_.parallelism) ++coverage_["resume at another parallelism"];
  if (config.operators != config_.operators) ++coverage_["resume with another operator chain"];
  if (restored.savepoint) ++coverage_["resume from a savepoint"];
  job_ = *std::move(started);
  config_ = config;
  lost_.clear();
  checker_.OnJobStarted(*job_, &restored, config.restore_mode);
  outcome.restarted = true;
  return outcome;
}

Execution::Outcome Execution::RestoreCheck(const ScenarioStep& step) {
  std::vector<const KnownSnapshot*> targets;
  const std::string& from = step.Text("from");
  if (from == "all") {
    targets = checker_.RestorableSnapshots(job_.get());
  } else {
    absl::StatusOr<const KnownSnapshot*> snapshot = Resolve(step, from);
    if (!snapshot.ok() && !lost_.empty()) {
      notes_.push_back(absl::StrCat("step ", step.number, " skipped: the job was lost (",
                                    snapshot.status().message(), ")"));
      return Outcome{};
    }
    if (auto unavailable = unavailable_names_.find(from); !snapshot.ok() && unavailable != unavailable_names_.end()) {
      notes_.push_back(absl::StrCat("step ", step.number, " skipped: ", unavailable->second));
      return Outcome{};
    }
    if (!snapshot.ok()) return BadInput(step, "from", snapshot.status().message());
    targets.push_back(*snapshot);
  }
  const int parallelism =
      step.Text("parallelism") == "same" ? config_.parallelism : static_cast<int>(step.Int("parallelism"));
  const int max_parallelism = config_.max_parallelism;
  if (parallelism > max_parallelism) return BadInput(step, "parallelism", "parallelism exceeds max_parallelism");
  Outcome outcome;
  for (const KnownSnapshot* snapshot : targets) {
    outcome.violation = checker_.RestoreInSideWorld(*snapshot, parallelism, max_parallelism, step.number);
    if (outcome.violation.has_value()) break;
  }
  return outcome;
}

Execution::Outcome Execution::Quiesce(const ScenarioStep& step) {
  if (job_ != nullptr && !job_->stopped() && job_->config().checkpoint_interval_micros > 0) {
    return BadInput(step, "", "quiesce needs interval_ms 0: periodic checkpoints never let the run quiesce");
  }
  if (job_ != nullptr) job_->ReleaseAllHeldMessages();
  std::vector<std::string> pending;
  Outcome outcome;
  if (!world_->RunUntilQuiescent(&pending)) {
    outcome.violation = MakeViolation(9, step.number, absl::StrCat("the run did not quiesce; waiting: ",
                                                                   absl::StrJoin(pending, ", ")));
    return outcome;
  }
  if (job_ != nullptr) {
    // Events of the drained work first, then the storage.
    outcome.violation = checker_.AfterStep(*job_, step.number, false);
    if (outcome.violation.has_value()) return outcome;
  }
  LearnFinishedTriggers();
  checker_.AcceptOrphans(faults_.AcceptedOrphans());
  outcome.violation = checker_.CheckNoLeak(job_.get(), step.number);
  return outcome;
}

std::optional<Execution::Expired> Execution::ExpiryOf(const CheckpointCoordinator::Result& result) const {
  if (result.ok() || FailureReasonOf(result.status()) != CheckpointFailureReason::kCheckpointExpired) {
    return std::nullopt;
  }
  long long failed_id = -1;  // the status names its checkpoint: "checkpoint 17 failed: ..."
  if (std::sscanf(std::string(result.status().message()).c_str(), "checkpoint %lld", &failed_id) != 1) {
    return std::nullopt;
  }
  return Expired{failed_id, world_->runtime().NowMicros(), world_->last_storage_commit_micros()};
}

bool Execution::SlowNotStuck(const Expired& attempt, std::string* evidence) const {
  const int64_t timeout = job_->config().checkpoint_timeout_micros;
  bool slow_not_stuck = false;
  const SimJob::AcknowledgementTimes acks = job_->Acknowledgements(attempt.id);
  const int64_t first_ack = acks.first_sent;
  const int64_t last_ack = acks.last_sent;
  const bool none_in_time = first_ack < 0 || first_ack > attempt.expired_at;
  const bool acknowledged_late = last_ack > attempt.expired_at;
  const bool uploading_at_expiry = attempt.last_commit >= attempt.expired_at - timeout / 10;
  // Every task finished in time, and an acknowledgement was still on its way at the expiry (message latency):
  // slow, not stuck (swarm seed 30175).
  const bool in_flight_at_expiry = acks.sent >= job_->parallelism() && last_ack <= attempt.expired_at &&
                                   acks.delivered == acks.sent && acks.last_delivered > attempt.expired_at;
  // Some tasks acknowledged in time and storage was still committing uploads after the last of them, in the last
  // tenth of the timeout: the others were still working, not stuck (swarm-recoverable seed 30621).
  const bool others_uploading_at_expiry = first_ack >= 0 && uploading_at_expiry && attempt.last_commit > last_ack;
  if ((none_in_time && (acknowledged_late || uploading_at_expiry)) || in_flight_at_expiry ||
      others_uploading_at_expiry) {
    slow_not_stuck = true;
  }
  absl::StrAppend(evidence, evidence->empty() ? "" : ", ", "checkpoint ", attempt.id, ": ",
                  first_ack < 0 ? "acknowledged by no task"
                                : absl::StrCat("acknowledged ", first_ack - attempt.expired_at, "us to ",
                                               last_ack - attempt.expired_at, "us after its expiry",
                                               acks.last_delivered > attempt.expired_at
                                                   ? absl::StrCat(", the last delivered ",
                                                                  acks.last_delivered - attempt.expired_at,
                                                                  "us after it")
                                                   : ""),
                  attempt.last_commit < 0 ? ""
                                          : absl::StrCat(", an upload committed ",
                                                         attempt.expired_at - attempt.last_commit, "us before it"));
  return slow_not_stuck;
}

Execution::Outcome Execution::Liveness(const ScenarioStep& step) {
  if (job_ == nullptr || job_->stopped()) return BadInput(step, "", "no running job");
  // Faults are over: scripted message fates end, held messages go out.
  job_->ClearMessageRules();
  job_->SetMessageFaultHook(nullptr);
  faults_.DisarmAll();
  job_->ReleaseAllHeldMessages();
  const int attempts = static_cast<int>(step.Int("attempts"));
  // Invariant 9 asks that a checkpoint completes: a periodic one that overtook the step's own counts too.
  auto newest_completed = [this] {
    int64_t newest = -1;
    for (const auto& checkpoint : job_->coordinator().RetainedCheckpoints()) {
      if (!checkpoint->properties.is_savepoint()) newest = std::max(newest, checkpoint->checkpoint_id);
    }
    return newest;
  };
  const int64_t newest_before = newest_completed();
  std::string failures;
  // Attempts that expired: the checkpoint, when the attempt learned it, when storage last committed an object then.
  // Whether every failure was an expiry or the suspension of the failover an expiry caused (tolerable failures
  // exceeded).
  std::vector<Expired> expired;
  bool every_failure_timed_out = true;
  // A task that failed (a snapshot's synchronous part on a DB a fault broke) is restarted, as Flink does: the
  // attempt counts against the bound.
  Outcome done;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    const Future<CheckpointCoordinator::Result> attempted = job_->RequestCheckpoint();
    if (std::optional<Violation> stuck = AwaitOutcome(attempted, step.number, "liveness checkpoint")) {
      Outcome outcome = done;
      outcome.violation = stuck;
      return outcome;
    }
    const CheckpointCoordinator::Result result = attempted.Get();
    // #13 part 1: with the reuse base pruning, a completion racing the next trigger should not make the registry
    // refuse a placeholder; counted where it still happens (a periodic checkpoint or a later attempt may hide it).
    if (!result.ok() && absl::StrContains(result.status().message(), "unknown state")) {
      ++coverage_["liveness attempt declined by registration"];
      if (step.Text("registration") == "must-not-decline") {
        Outcome outcome = done;
        outcome.violation = MakeViolation(9, step.number, absl::StrCat("attempt ", attempt, " was declined by the "
                                                                       "shared state registry: ",
                                                                       result.status().message()));
        return outcome;
      }
    }
    if (!result.ok() && !world_->deterministic() &&
        absl::StrContains(result.status().message(), "triggered before it")) {
      // Real threads: a periodic checkpoint overtook this attempt at a task (which declined it as subsumed), and its
      // completion races this failure. It counts (below) once it completes; wait for it as long as a checkpoint may
      // take. (The simulation decides the race from the seed, the same way every run: nothing to wait for there.)
      const int64_t deadline = world_->runtime().NowMicros() + job_->config().checkpoint_timeout_micros;
      while (newest_completed() <= newest_before && world_->runtime().NowMicros() < deadline) {
        world_->runtime().SleepForMicros(10'000);
      }
    }
    if (!result.ok() && newest_completed() > newest_before) {
      notes_.push_back(absl::StrCat("step ", step.number, ": liveness met by periodic checkpoint ", newest_completed(),
                                    " after ", attempt, " declined attempt(s) of its own (", failures,
                                    failures.empty() ? "" : "; ", result.status().message(), ")"));
      return done;
    }
    if (result.ok()) {
      ++checkpoints_completed_;
      if (attempt > 1) {
        notes_.push_back(absl::StrCat("step ", step.number, ": liveness needed ", attempt - 1, " retr",
                                      attempt == 2 ? "y" : "ies", " (", failures, ")"));
      }
      return done;
    }
    absl::StrAppend(&failures, failures.empty() ? "" : "; ", "attempt ", attempt, ": ", result.status().message());
    const std::optional<CheckpointFailureReason> reason = FailureReasonOf(result.status());
    if (std::optional<Expired> expiry = ExpiryOf(result)) {
      expired.push_back(*expiry);
    } else if (reason != CheckpointFailureReason::kCheckpointCoordinatorSuspend) {
      every_failure_timed_out = false;
    }
    if (std::optional<Outcome> failed = AnswerFailures(step)) {
      if (failed->violation.has_value() || !failed->bad_input.empty()) return *failed;
      if (!lost_.empty()) return done;  // the restart lost the job (storage-rot): nothing left to check
      done.restarted = true;
      absl::StrAppend(&failures, " (the task failed; restarted)");
    }
  }
  // Flink promises progress once faults are over only where a checkpoint fits in its timeout: a job whose
  // checkpoints take longer (many files to upload with a 100 ms timeout) expires every one, in Flink too, and with
  // few tolerable failures fails over again and again. That is told apart from a stuck job: every failure was an
  // expiry (or the suspension of the failover one caused), and in one expired attempt at least no task finished in
  // time while the tasks were still working at the expiry: a task acknowledged after it, or storage was still
  // committing their uploads in the last tenth of the timeout; or every task acknowledged in time and an
  // acknowledgement was still on its way at the expiry; or some acknowledged in time and storage was still committing
  // uploads after the last of them in the last tenth. Noted and counted, not judged. A task that never starts its
  // uploads, or one stuck beside others that finish in time (nothing committed after their acknowledgements), stays
  // a violation.
  const int64_t timeout = job_->config().checkpoint_timeout_micros;
  std::string evidence;
  bool slow_not_stuck = false;
  for (const Expired& attempt : expired) {
    if (SlowNotStuck(attempt, &evidence)) slow_not_stuck = true;
  }
  if (every_failure_timed_out && slow_not_stuck) {
    ++coverage_["liveness not judged: timeout shorter than a checkpoint"];
    notes_.push_back(absl::StrCat("step ", step.number, ": liveness not judged: the checkpoint timeout (",
                                  timeout / kMicrosPerMilli, " ms) is shorter than a checkpoint of this state takes: ",
                                  failures, " (", evidence, ")"));
    return done;
  }
  Outcome outcome = done;
  outcome.violation =
      MakeViolation(9, step.number,
                    absl::StrCat("no checkpoint completed in ", attempts, " attempt(s) with faults over: ", failures,
                                 evidence.empty() ? "" : absl::StrCat(" (", evidence, ")")));
  return outcome;
}

Execution::Outcome Execution::Restart(const ScenarioStep& step, const std::string& verb) {
  absl::Status status;
  if (verb == "failover-tasks") {
    status = job_->FailoverTasks();
  } else if (verb == "failover-coordinator") {
    status = job_->FailoverCoordinator();
  } else {
    const int machine = static_cast<int>(step.Int("machine"));
    if (machine >= job_->parallelism()) {
      return BadInput(step, "machine", absl::StrCat("the job has ", job_->parallelism(), " machines"));
    }
    const std::string& how = step.Text("how");
    if (how == "hard") {
      status = job_->KillMachine(machine);
      ++coverage_["hard kill"];
    } else if (how == "restart" || how == "reboot") {
      status = job_->RestartMachine(machine, /*power_loss=*/how == "reboot");
      ++coverage_[how == "reboot" ? "machine reboot, local state reloaded" : "process restart, local state reloaded"];
    } else {
      status = job_->CrashMachine(machine);
      ++coverage_["machine crash"];
    }
  }
  if (verb == "failover-coordinator") ++coverage_["coordinator failover"];
  // A restart that failed only because storage kept failing (every attempt of the restart strategy hit an
  // injected fault): the outage ends, as outages do, and the job restarts again. Reported, not hidden.
  if (!status.ok() && faults_.Explains(status.message())) {
    notes_.push_back(absl::StrCat("step ", step.number, ": the restart failed under injected faults (",
                                  status.message(), "); faults disarmed, restarted again"));
    faults_.DisarmAll();
    status = verb == "failover-coordinator" ? job_->FailoverCoordinator() : job_->FailoverTasks();
  }
  Outcome outcome;
  if (!status.ok() && faults_.ExplainsLoss(status.message())) {
    LoseJob(step, status.ToString());
    return outcome;
  }
  if (!status.ok()) {
    outcome.violation = MakeViolation(1, step.number, absl::StrCat("the restart failed: ", status.ToString()));
  }
  outcome.restarted = true;
  return outcome;
}

void Execution::LoseJob(const ScenarioStep& step, const std::string& error) {
  notes_.push_back(absl::StrCat("step ", step.number, ": the job failed for good (storage-rot, a loss the fault model "
                                "allows): ", error));
  ++coverage_["job lost to storage-rot"];
  lost_ = error;
  if (job_ == nullptr || job_->stopped()) return;
  job_->ReleaseAllHeldMessages();
  job_->StopCheckpointScheduler();
  LearnFinishedTriggers();
  checker_.OnJobStopped(*job_, JobStatus::kFailed);
  job_->Stop(JobStatus::kFailed);
  // A coordinator that could not recover the store (a record rotted) cannot remove its records either: Flink's
  // cleanup of a failed job's HA data retries that recovery forever. What is left of the store is the loss's.
  const std::string records = absl::StrCat(job_->checkpoint_root(), "/ha/");
  if (!absl::StrContains(error, records)) return;  // the store recovered: its shutdown removed its records
  std::map<std::string, std::string> left;
  for (const std::string& path : world_->storage().AllPaths()) {
    if (absl::StartsWith(path, records)) {
      left.emplace(path, "a store record of a job lost to storage-rot (its store cannot be recovered to clean up)");
    }
  }
  checker_.AcceptOrphans(left);
}

Execution::Outcome Execution::FailoverRequested(const ScenarioStep& step, const absl::Status& cause) {
  notes_.push_back(absl::StrCat("step ", step.number, ": the coordinator failed the job over: ", cause.message()));
  ++coverage_[absl::StrContains(cause.message(), "tolerable") ? "failover: tolerable checkpoint failures exceeded"
                                                              : "failover: synchronous savepoint declined"];
  return Restart(step, "failover-tasks");
}

std::optional<Execution::Outcome> Execution::AnswerFailures(const ScenarioStep& step) {
  if (std::optional<absl::Status> failure = job_->TakeTaskFailure()) return TaskFailed(step, "a task", *failure);
  if (std::optional<absl::Status> request = job_->TakeFailoverRequest()) return FailoverRequested(step, *request);
  return std::nullopt;
}

Execution::Outcome Execution::TaskFailed(const ScenarioStep& step, absl::string_view what, const absl::Status& cause) {
  if (!faults_.Explains(cause.message())) return Unexpected(step, what, cause);
  notes_.push_back(
      absl::StrCat("step ", step.number, ": ", what, ": ", cause.message(), "; the job restarts its tasks"));
  ++coverage_["task failure (injected), tasks restarted"];
  return Restart(step, "failover-tasks");
}

Execution::Outcome Execution::Execute(const ScenarioStep& step) {
  // For the CLI test of crash handling only (sweeps and `shrink` must survive a process that dies, as a failed
  // assertion inside RocksDB makes it): abort when a step of this verb starts.
  static const char* const abort_at_verb = std::getenv("SNAPSIM_TEST_ABORT_AT_VERB");
  if (abort_at_verb != nullptr && step.verb == abort_at_verb) std::abort();
  const std::string& verb = step.verb;
  // Storage faults belong to the world: they may be armed and disarmed between jobs too.
  const bool needs_job = verb != "resume" && verb != "restore-check" && verb != "quiesce" && verb != "await" &&
                         verb != "fault" && verb != "faults-off";
  if (!lost_.empty() && (needs_job || verb == "liveness")) {
    notes_.push_back(absl::StrCat("step ", step.number, " skipped: the job was lost"));
    return Outcome{};
  }
  if (needs_job && (job_ == nullptr || job_->stopped()) && verb != "stop") {
    return BadInput(step, "",
                    "the job is stopped: only resume, restore-check, quiesce, await, fault and faults-off may follow "
                    "a stop");
  }
  auto write = [&](StateWrite::Operation operation) -> Outcome {
    StateWrite write{operation, step.Text("state"), step.Text("key"), step.Text("user_key"), step.Text("value"),
                     static_cast<int>(step.Int("operator"))};
    if (write.op >= job_->operators()) {
      return BadInput(step, "operator", absl::StrCat("the job chains ", job_->operators(), " operator(s)"));
    }
    absl::Status status = job_->Write(write);
    return status.ok() ? Outcome{} : TaskFailed(step, "write", status);
  };
  if (verb == "put") return write(StateWrite::Operation::kPut);
  if (verb == "remove") return write(StateWrite::Operation::kClear);
  if (verb == "append") return write(StateWrite::Operation::kAppend);
  if (verb == "map-put") return write(StateWrite::Operation::kMapPut);
  if (verb == "map-remove") return write(StateWrite::Operation::kMapRemove);
  if (verb == "writes") {
    Prng prng = root_.Child(absl::StrCat("writes-", step.number));
    const uint64_t keys = static_cast<uint64_t>(step.Int("keys"));
    for (int64_t i = 0; i < step.Int("count"); ++i) {
      StateWrite write;
      write.key = absl::StrCat("k", prng.UniformBelow(keys));
      write.value = absl::StrCat("v", step.number, "-", i);
      const uint64_t roll = prng.UniformBelow(20);
      if (roll < 8) {
        write.operation = StateWrite::Operation::kPut;
        write.state = roll < 6 ? "value" : "value2";
      } else if (roll < 12) {
        write.operation = StateWrite::Operation::kAppend;
        write.state = "list";
      } else if (roll < 16) {
        write.operation = StateWrite::Operation::kMapPut;
        write.state = "map";
        write.user_key = absl::StrCat("u", prng.UniformBelow(4));
      } else if (roll < 18) {
        write.operation = StateWrite::Operation::kMapRemove;
        write.state = "map";
        write.user_key = absl::StrCat("u", prng.UniformBelow(4));
      } else {
        write.operation = StateWrite::Operation::kClear;
        static constexpr const char* kStates[] = {"value", "value2", "list", "map"};
        write.state = kStates[prng.UniformBelow(4)];
      }
      // Drawn only when there is a choice: a single-operator run draws what it always did.
      if (job_->operators() > 1) write.op = static_cast<int>(prng.UniformBelow(job_->operators()));
      if (absl::Status status = job_->Write(write); !status.ok()) return TaskFailed(step, "write", status);
    }
    return Outcome{};
  }
  if (verb == "flush") {
    absl::Status status = job_->Flush();
    return status.ok() ? Outcome{} : TaskFailed(step, "flush", status);
  }
  if (verb == "compact") {
    absl::Status status = job_->Compact();
    return status.ok() ? Outcome{} : TaskFailed(step, "compact", status);
  }
  if (verb == "checkpoint") return SnapshotStep(step, false);
  if (verb == "savepoint") return SnapshotStep(step, true);
  if (verb == "await") {
    auto found = pending_.find(step.Text("as"));
    if (found == pending_.end()) {
      return BadInput(step, "as", absl::StrCat("nothing was triggered with wait=no as '", step.Text("as"), "'"));
    }
    if (std::optional<Violation> stuck = AwaitOutcome(found->second.future, step.number, "awaited snapshot")) {
      Outcome outcome;
      outcome.violation = stuck;
      return outcome;
    }
    const CheckpointCoordinator::Result result = found->second.future.Get();
    const bool savepoint = found->second.savepoint;
    const std::string name = found->first;
    const std::string expect = step.Text("expect") != "any" ? step.Text("expect") : found->second.expect;
    const std::string job_id = found->second.job_id;
    pending_.erase(found);
    return Record(step, name, expect, savepoint, result, job_id);
  }
  if (verb == "advance") {
    world_->runtime().SleepForMicros(step.Int("ms") * kMicrosPerMilli);
    return Outcome{};
  }
  if (verb == "quiesce") return Quiesce(step);
  if (verb == "message") {
    MessageRule rule;
    const std::string& action = step.Text("action");
    rule.action = action == "drop"        ? MessageRule::Action::kDrop
                  : action == "duplicate" ? MessageRule::Action::kDuplicate
                  : action == "delay"     ? MessageRule::Action::kDelay
                  : action == "hold"      ? MessageRule::Action::kHold
                                          : MessageRule::Action::kReorder;
    rule.kind = ParseMessageKind(step.Text("kind"));
    rule.subtask = step.Text("subtask") == "any" ? -1 : static_cast<int>(step.Int("subtask"));
    if (rule.subtask >= job_->parallelism()) {
      return BadInput(step, "subtask", absl::StrCat("the job has ", job_->parallelism(), " subtasks"));
    }
    rule.checkpoint_id = step.Text("checkpoint") == "any" ? -1 : step.Int("checkpoint");
    rule.delay_micros = step.Int("ms") * kMicrosPerMilli;
    rule.count = static_cast<int>(step.Int("count"));
    job_->AddMessageRule(rule);
    return Outcome{};
  }
  if (verb == "deliver") {
    const int subtask = step.Text("subtask") == "any" ? -1 : static_cast<int>(step.Int("subtask"));
    job_->ReleaseHeldMessages(ParseMessageKind(step.Text("kind")), subtask);
    return Outcome{};
  }
  if (verb == "fault") {
    std::optional<FaultKind> kind = ParseFaultKind(step.Text("kind"));
    FaultRule rule;
    rule.kind = *kind;
    rule.count = static_cast<int>(step.Int("count"));
    rule.path_contains = step.Text("path");
    rule.latency_micros = step.Int("ms") * kMicrosPerMilli;
    if (step.Has("chance")) {
      const std::string& chance = step.Text("chance");
      const size_t slash = chance.find('/');
      if (slash == std::string::npos || !absl::SimpleAtoi(chance.substr(0, slash), &rule.chance_numerator) ||
          !absl::SimpleAtoi(chance.substr(slash + 1), &rule.chance_denominator) || rule.chance_denominator == 0 ||
          rule.chance_numerator > rule.chance_denominator) {
        return BadInput(step, "chance", absl::StrCat("chance is a ratio N/D with 0 <= N <= D, D > 0: '", chance, "'"));
      }
    }
    if (rule.count == 0) return BadInput(step, "count", "count is -1 (no limit) or positive");
    rule.armed_at_step = step.number;
    faults_.Arm(rule);
    return Outcome{};
  }
  if (verb == "corrupt") {
    const int machine = static_cast<int>(step.Int("machine"));
    if (machine >= job_->parallelism()) {
      return BadInput(step, "machine", absl::StrCat("the job has ", job_->parallelism(), " machines"));
    }
    absl::StatusOr<std::vector<std::string>> corrupted = job_->machine(machine).Corrupt(
        step.Text("path"), static_cast<int>(step.Int("count")), root_.Child(absl::StrCat("corrupt-", step.number)));
    if (!corrupted.ok()) return Unexpected(step, "corrupt", corrupted.status());
    for (const std::string& path : *corrupted) {
      faults_.NoteLocalCorruption(path);
      checker_.OnLocalCorruption(path);
      world_->Record("fault", absl::StrCat("corrupt: ", path),
                     {{"kind", "corrupt"}, {"path", path}, {"machine", job_->machine(machine).name()},
                      {"armed_at_step", absl::StrCat(step.number)}});
    }
    notes_.push_back(absl::StrCat("step ", step.number, ": corrupted ", corrupted->size(), " file(s): ",
                                  absl::StrJoin(*corrupted, ", ")));
    ++coverage_["local corruption"];
    return Outcome{};
  }
  if (verb == "faults-off") {
    faults_.DisarmAll();
    return Outcome{};
  }
  if (verb == "failover-tasks" || verb == "crash" || verb == "failover-coordinator") return Restart(step, verb);
  if (verb == "stop") {
    if (job_ == nullptr || job_->stopped()) return BadInput(step, "", "the job is already stopped");
    const std::string& how = step.Text("how");
    const JobStatus status = how == "cancel"   ? JobStatus::kCanceled
                             : how == "finish" ? JobStatus::kFinished
                                               : JobStatus::kSuspended;
    job_->ReleaseAllHeldMessages();
    // No checkpoint may complete between the checker's view of the store and the shutdown.
    job_->StopCheckpointScheduler();
    LearnFinishedTriggers();
    checker_.OnJobStopped(*job_, status);
    stop_status_ = status;
    job_->Stop(status);
    return Outcome{};
  }
  if (verb == "resume") return Resume(step);
  if (verb == "restore-check") return RestoreCheck(step);
  if (verb == "verify") {
    Outcome outcome;
    outcome.violation = checker_.CheckRunningState(*job_, step.number, "verify");
    return outcome;
  }
  if (verb == "liveness") return Liveness(step);
  return BadInput(step, "", "the executor does not know this step");
}

std::optional<Violation> Execution::RestoreNewSnapshots(int step) {
  if (!options_.side_world_restores) {
    (void)checker_.TakeNewSnapshots();
    return std::nullopt;
  }
  const std::vector<const KnownSnapshot*> restorable = checker_.RestorableSnapshots(job_.get());
  for (const KnownSnapshot* snapshot : checker_.TakeNewSnapshots()) {
    // A checkpoint completed and already subsumed within the step is gone legitimately.
    if (std::find(restorable.begin(), restorable.end(), snapshot) == restorable.end()) continue;
    std::optional<Violation> violation =
        checker_.RestoreInSideWorld(*snapshot, config_.parallelism, config_.max_parallelism, step);
    // Real threads go on during the restore: a checkpoint subsumed meanwhile lost its files legitimately.
    if (violation.has_value() && !world_->deterministic() && !checker_.StillLive(*snapshot, job_.get())) continue;
    if (violation.has_value()) return violation;
  }
  return std::nullopt;
}

std::string Execution::Dump() {
  std::string out;
  if (job_ == nullptr) return "no job (the last resume was refused)\n";
  const SimJobConfig& config = job_->config();
  absl::StrAppend(&out, "job ", config.job_id, job_->stopped() ? " (stopped)" : " (running)", ": parallelism ",
                  config.parallelism, ", max parallelism ", config.max_parallelism, ", ", config.operators,
                  " operator(s), ", config.incremental ? "incremental" : "full", ", local recovery ",
                  config.local_recovery ? "on" : "off", ", restore mode ", RestoreModeName(config.restore_mode), "\n");
  absl::StrAppend(&out, world_->deterministic() ? "virtual time " : "elapsed ", Now(),
                  "us; model: ", job_->Model().size(), " entries\n");
  if (!job_->stopped()) {
    for (int subtask = 0; subtask < job_->parallelism(); ++subtask) {
      absl::StrAppend(&out, "subtask ", subtask, ": attempt ", job_->attempt_of(subtask), ", key groups ",
                      job_->range_of(subtask).ToString());
      if (KeyedStateTask* task = job_->task(subtask)) {
        for (int op = 0; op < task->operators(); ++op) {
          absl::StrAppend(&out, op == 0 ? ", backend " : ", ", task->backend_uid(op));
        }
      }
      out += "\n";
    }
    out += "retained checkpoints:\n";
    for (const auto& checkpoint : job_->coordinator().RetainedCheckpoints()) {
      absl::StrAppend(&out, "  ", checkpoint->checkpoint_id, " ", checkpoint->properties.ToString(), " ",
                      checkpoint->external_pointer, "\n");
    }
    out += "pending checkpoints:";
    for (int64_t id : job_->coordinator().PendingCheckpointIds()) absl::StrAppend(&out, " ", id);
    out += "\nshared state registry (path: registered by, last used by):\n";
    for (const auto& [path, ids] : job_->coordinator().store().registry().Entries()) {
      absl::StrAppend(&out, "  ", path, ": ", ids.first, ", ", ids.second, "\n");
    }
  }
  out += "snapshots that must stay (retained, user-owned, restored from):\n";
  for (const KnownSnapshot* snapshot : checker_.LiveSnapshots(job_.get())) {
    absl::StrAppend(&out, "  ", snapshot->savepoint ? "savepoint " : "checkpoint ", snapshot->checkpoint_id, " of ",
                    snapshot->job_id, " at ", snapshot->pointer, "\n");
  }
  out += "named snapshots:\n";
  for (const auto& [name, snapshot] : names_) {
    absl::StrAppend(&out, "  ", name, " = ", snapshot.savepoint ? "savepoint " : "checkpoint ", snapshot.checkpoint_id,
                    " of ", snapshot.job_id, " at ", snapshot.pointer, "\n");
  }
  if (!job_->stopped()) {
    out += "local disks (task managers' files):\n";
    for (int subtask = 0; subtask < job_->parallelism(); ++subtask) {
      for (const std::string& file : job_->machine(subtask).ListFiles(job_->machine(subtask).root())) {
        absl::StrAppend(&out, "  ", file, "\n");
      }
    }
  }
  out += "checkpoint storage:\n";
  for (const std::string& path : world_->storage().AllPaths()) {
    std::optional<StoredObjectInfo> info = world_->storage().Inspect(path);
    absl::StrAppend(&out, "  ", path, " ", info.has_value() ? info->size_bytes : 0, " bytes\n");
  }
  return out;
}

void Execution::LearnFinishedTriggers() {
  if (job_ == nullptr) return;
  for (auto& [name, trigger] : pending_) {
    if (trigger.job_id != config_.job_id || !trigger.future.IsReady()) continue;
    const CheckpointCoordinator::Result& finished = trigger.future.Get();
    if (finished.ok()) checker_.OnCompleted(*job_, **finished);
  }
}

void Execution::Judge(std::optional<Violation>* violation, RunResult* result) const {
  if (!violation->has_value() || options_.judged_invariants.empty() ||
      options_.judged_invariants.count((*violation)->invariant) > 0) {
    return;
  }
  result->unjudged.push_back(**violation);
  violation->reset();
}

void Execution::Finish(RunResult* result) {
  result->trace_hash = world_->trace().hash();
  result->trace_events = world_->trace().event_count();
  result->virtual_time_micros = Now();
  result->checkpoints_completed = checkpoints_completed_;
  result->side_world_restores = checker_.side_world_restores();
  result->side_world_restores_reused = checker_.side_world_restores_reused();
  result->scheduler_handoffs = world_->handoffs();
  result->activities_spawned = world_->activities_spawned();
  result->threads_started = world_->threads_started();
  result->notes = notes_;
  for (const auto& [kind, count] : faults_.Injected()) {
    result->notes.push_back(absl::StrCat("faults injected: ", kind, " x", count));
    coverage_[absl::StrCat("fault ", kind)] += count;
  }
  result->coverage = coverage_;
  for (const auto& [name, count] : checker_.coverage()) result->coverage[name] += count;
  NoteFirstReached(scenario_.steps.empty() ? 1 : scenario_.steps.back().number + 1);
  result->coverage_first_step = first_reached_;
  result->notes.insert(result->notes.end(), checker_.notes().begin(), checker_.notes().end());
  if (result->violation.has_value()) {
    // The verdict on the trace: its own process, first in the viewer.
    const Violation& violation = *result->violation;
    TraceArgs args = {{"invariant", absl::StrCat(violation.invariant)},
                      {"name", violation.name},
                      {"step", absl::StrCat(violation.step)}};
    if (violation.checkpoint_id >= 0) args.push_back({"checkpoint", absl::StrCat(violation.checkpoint_id)});
    if (violation.subtask >= 0) args.push_back({"subtask", absl::StrCat(violation.subtask)});
    if (!violation.file.empty()) args.push_back({"file", violation.file});
    args.push_back({"detail", violation.detail});
    world_->Record("violation",
                   absl::StrCat("invariant ", violation.invariant, " (", violation.name, ") violated at step ",
                                violation.step),
                   std::move(args));
  }
  if (options_.keep_trace_events) {
    result->trace_text = world_->trace().ToText();
    result->chrome_trace_json = world_->trace().ToChromeJson();
  }
}

RunResult Execution::Run() {
  RunResult result;
  config_ = JobConfig();
  config_.job_id = absl::StrCat("job-", ++jobs_started_);
  absl::StatusOr<std::unique_ptr<SimJob>> started = SimJob::Start(config_, world_.get(), root_);
  if (!started.ok()) {
    result.verdict = RunResult::Verdict::kBadInput;
    result.error = absl::StrCat(scenario_.origin, ":1:1: the job does not start with this header: ",
                                started.status().message());
    Finish(&result);
    return result;
  }
  job_ = *std::move(started);
  checker_.OnJobStarted(*job_, nullptr, config_.restore_mode);
  bool reseeded = false;
  for (const ScenarioStep& step : scenario_.steps) {
    if (!reseeded && options_.reseed_from_step > 0 && step.number >= options_.reseed_from_step) {
      reseeded = true;
      world_->Reseed(options_.reseed);
      if (job_ != nullptr) job_->Reseed(options_.reseed);
      faults_.Reseed(options_.reseed);
      root_ = Prng(options_.reseed);
      world_->Record("scenario", absl::StrCat("reseeded with ", options_.reseed),
                     {{"seed", absl::StrCat(options_.reseed)}});
    }
    const int64_t start = Now();
    step_status_.clear();
    if (options_.progress) {
      // The phases of a run: faults armed, the fault-free phase, the job stopped, a new job.
      if (step.verb == "fault" && !faults_.armed()) {
        options_.progress(absl::StrCat("-- from step ", step.number, ": faults armed --"));
      } else if (step.verb == "faults-off" && faults_.armed()) {
        options_.progress(absl::StrCat("-- from step ", step.number, ": faults off, the fault-free phase --"));
      } else if (step.verb == "resume") {
        options_.progress(absl::StrCat("-- from step ", step.number, ": a new job, resumed --"));
      }
    }
    world_->Record("scenario", absl::StrCat("step ", step.ToString()));
    Outcome outcome = Execute(step);
    // A task that failed on its own during the step (a snapshot's synchronous part): the job restarts its tasks.
    if (outcome.bad_input.empty() && !outcome.violation.has_value() && job_ != nullptr && !job_->stopped()) {
      if (std::optional<Outcome> failed = AnswerFailures(step)) {
        failed->restarted = failed->restarted || outcome.restarted;
        outcome = *std::move(failed);
      }
    }
    ++result.steps_run;
    result.last_step = step.number;
    if (!outcome.bad_input.empty()) {
      result.verdict = RunResult::Verdict::kBadInput;
      result.error = outcome.bad_input;
      break;
    }
    checker_.AcceptOrphans(faults_.AcceptedOrphans());
    Judge(&outcome.violation, &result);
    if (!outcome.violation.has_value() && job_ != nullptr) {
      outcome.violation = checker_.AfterStep(*job_, step.number, outcome.restarted);
      Judge(&outcome.violation, &result);
    }
    if (!outcome.violation.has_value()) {
      outcome.violation = RestoreNewSnapshots(step.number);
      Judge(&outcome.violation, &result);
    }
    NoteFirstReached(step.number);
    if (options_.progress) {
      options_.progress(absl::StrCat("step ", step.ToString(), ": ",
                                     outcome.violation.has_value() ? "VIOLATION"
                                     : step_status_.empty()        ? "ok"
                                                                   : step_status_,
                                     " at ", ReadableTime(Now()), " (", ReadableTime(Now() - start), ")"));
    }
    if (outcome.violation.has_value()) {
      result.verdict = RunResult::Verdict::kViolation;
      result.violation = std::move(outcome.violation);
      break;
    }
    if (options_.until_step > 0 && step.number >= options_.until_step) {
      result.dump = Dump();
      Finish(&result);
      return result;
    }
  }
  if (result.verdict == RunResult::Verdict::kPass) {
    // The end of the run: triggers stop, held messages go out, pending work drains; then storage holds only what is
    // referenced and every live snapshot restores to its model.
    const int end = scenario_.steps.empty() ? 1 : scenario_.steps.back().number + 1;
    faults_.DisarmAll();  // the end of a run is fault-free: what is left must drain
    if (job_ != nullptr) {
      // Scripted message fates end too: a message held or dropped after this point would be a fault.
      job_->ClearMessageRules();
      job_->SetMessageFaultHook(nullptr);
    }
    if (job_ != nullptr && !job_->stopped()) job_->StopCheckpointScheduler();
    if (job_ != nullptr) job_->ReleaseAllHeldMessages();
    // Triggers never awaited end too; a savepoint that completed is the user's, so the checker must know it.
    std::optional<Violation> violation;
    for (auto& [name, trigger] : pending_) {
      if (!violation.has_value()) violation = AwaitOutcome(trigger.future, end, "snapshot triggered with wait=no");
    }
    if (violation.has_value()) {
      Judge(&violation, &result);
      if (violation.has_value()) {
        result.verdict = RunResult::Verdict::kViolation;
        result.violation = std::move(violation);
      }
      Finish(&result);
      return result;
    }
    LearnFinishedTriggers();
    std::vector<std::string> pending;
    if (!world_->RunUntilQuiescent(&pending)) {
      violation = MakeViolation(9, end, absl::StrCat("the run did not quiesce at its end; waiting: ",
                                                     absl::StrJoin(pending, ", ")));
    }
    Judge(&violation, &result);
    if (!violation.has_value() && job_ != nullptr) {
      violation = checker_.AfterStep(*job_, end, false);
      Judge(&violation, &result);
    }
    checker_.AcceptOrphans(faults_.AcceptedOrphans());
    if (!violation.has_value()) {
      violation = checker_.CheckNoLeak(job_.get(), end);
      Judge(&violation, &result);
    }
    if (!violation.has_value()) {
      const int parallelism = config_.parallelism;
      const int max_parallelism = config_.max_parallelism;
      for (const KnownSnapshot* snapshot : checker_.RestorableSnapshots(job_.get())) {
        violation = checker_.RestoreInSideWorld(*snapshot, parallelism, max_parallelism, end);
        Judge(&violation, &result);
        if (violation.has_value()) break;
      }
    }
    if (violation.has_value()) {
      result.verdict = RunResult::Verdict::kViolation;
      result.violation = std::move(violation);
    }
  }
  Finish(&result);
  return result;
}

}  // namespace

RunResult RunScenario(const Scenario& scenario, const RunOptions& options) {
  if (options.fs == RunOptions::FileSystem::kPosix) {
    // Judged before the first step runs: a real directory has no fault injector, and a run that stopped half way
    // would have done real work for nothing.
    for (const ScenarioStep& step : scenario.steps) {
      if (step.verb != "fault" && step.verb != "corrupt") continue;
      RunResult result;
      result.verdict = RunResult::Verdict::kBadInput;
      result.error = absl::StrCat(scenario.origin, ":", step.location.line, ":", step.location.column, ": step ",
                                  step.number, " ", step.verb, ": ",
                                  step.verb == "fault" ? "faults are" : "corruption is",
                                  " injected in the simulated world only (--fs=sim)");
      return result;
    }
  }
  std::unique_ptr<JobWorld> world;
  if (options.fs == RunOptions::FileSystem::kSim) {
    SimSchedulerOptions scheduler_options;
    scheduler_options.keep_trace_events = options.keep_trace_events;
    scheduler_options.record_trace = options.record_trace;
    world = std::make_unique<SimWorld>(scenario.config.seed, scheduler_options);
  } else {
    std::string parent = options.posix_directory;
    for (const char* variable : {"TEST_TMPDIR", "TMPDIR"}) {
      if (parent.empty() && std::getenv(variable) != nullptr) parent = std::getenv(variable);
    }
    if (parent.empty()) parent = "/tmp";
    std::string pattern = parent + "/snapsim-posix-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      RunResult result;
      result.verdict = RunResult::Verdict::kBadInput;
      result.error = absl::StrCat("cannot create a directory for --fs=posix under ", parent);
      return result;
    }
    absl::StatusOr<std::unique_ptr<PosixWorld>> posix = PosixWorld::Create(pattern, options.keep_trace_events);
    if (!posix.ok()) {
      RunResult result;
      result.verdict = RunResult::Verdict::kBadInput;
      result.error = std::string(posix.status().message());
      return result;
    }
    world = *std::move(posix);
  }
  Execution execution(scenario, options, std::move(world));
  return execution.Run();
}

}  // namespace snapsim
