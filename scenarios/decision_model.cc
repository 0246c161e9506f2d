#include "scenarios/decision_model.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace snapsim {
namespace {

using Kind = DecisionEvent::Kind;
using Call = DecisionEvent::Call;
using Outcome = DecisionEvent::Outcome;

bool IsSavepoint(const std::string& kind) { return kind == "savepoint" || kind == "sync-savepoint"; }

// The reasons a task's decline may carry that never count.
const std::set<std::string>& RefusalReasons() {
  static const std::set<std::string>* reasons = new std::set<std::string>{
      "CHECKPOINT_DECLINED_SUBSUMED", "CHECKPOINT_DECLINED_TASK_CLOSING", "CHECKPOINT_DECLINED_TASK_NOT_READY"};
  return *reasons;
}

std::string Describe(const std::set<std::string>& reasons) {
  return reasons.empty() ? std::string("no decline at all") : absl::StrJoin(reasons, " or ");
}

DecisionViolation Violation(int64_t checkpoint_id, std::string detail) {
  return DecisionViolation{checkpoint_id, std::move(detail)};
}

}  // namespace

bool DecisionModelCountsReason(const std::string& reason) {
  return reason == "IO_EXCEPTION" || reason == "CHECKPOINT_ASYNC_EXCEPTION" || reason == "CHECKPOINT_DECLINED" ||
         reason == "CHECKPOINT_EXPIRED" || reason == "FINALIZE_CHECKPOINT_FAILURE";
}

DecisionModel::DecisionModel(DecisionModelConfig config, std::map<std::string, int>* coverage)
    : config_(config), coverage_(coverage != nullptr ? *coverage : own_coverage_) {}

void DecisionModel::Reset(int generation) {
  generation_ = generation;
  killed_ = false;
  shut_down_ = false;
  pending_.clear();
  open_calls_.clear();
  last_completion_micros_ = -1;
  scheduler_running_ = false;
  next_tick_micros_.reset();
  outstanding_periodic_ = 0;
  outstanding_manual_ = 0;
  all_running_ = true;
  continuous_failures_ = 0;
  counted_.clear();
  last_succeeded_id_ = INT64_MIN;
  failover_owed_.reset();
  subsumption_owed_.clear();
  subsumed_by_ = -1;
  declines_allowed_.clear();
}

int64_t DecisionModel::BaseInterval() const {
  return std::max(config_.interval_micros, config_.min_pause_micros);
}

bool DecisionModel::CallOpen(Call call, int64_t checkpoint_id, const std::string& reason) const {
  for (const auto& [id, open] : open_calls_) {
    if (open.call != call) continue;
    if (checkpoint_id >= 0 && open.checkpoint_id != checkpoint_id) continue;
    if (!reason.empty() && open.reason != reason) continue;
    return true;
  }
  return false;
}

std::string DecisionModel::CountedSoFar() const {
  if (counted_.empty()) return "none";
  std::vector<std::string> parts;
  for (const auto& [id, reason] : counted_) parts.push_back(absl::StrCat(id, " (", reason, ")"));
  return absl::StrJoin(parts, ", ");
}

std::optional<DecisionViolation> DecisionModel::Observe(const DecisionEvent& event) {
  if (event.clock_jumps != clock_jumps_) {
    // Time passed while one activity ran: a timer that fell due meanwhile can run only from now on.
    clock_jumps_ = event.clock_jumps;
    calls_closed_micros_ = std::max(calls_closed_micros_, event.time_micros);
  }
  if (event.kind == Kind::kCoordinatorStarted) {
    Reset(event.coordinator);
    return std::nullopt;
  }
  // A call that reaches a coordinator that died (a message sent before its failover) decides nothing.
  if (event.coordinator != generation_) return std::nullopt;
  if (std::optional<DecisionViolation> late = CheckTimers(event)) return late;
  if (std::optional<DecisionViolation> owed = CheckOwed(event)) return owed;
  return Apply(event);
}

std::optional<DecisionViolation> DecisionModel::CheckTimers(const DecisionEvent& event, const std::string& seen) {
  const std::string first = seen.empty() ? event.ToString() : seen;
  if (!config_.strict_timing || killed_ || shut_down_ || !open_calls_.empty()) return std::nullopt;
  for (const auto& [id, pending] : pending_) {
    const int64_t due = std::max(pending.deadline_micros, calls_closed_micros_);
    if (event.time_micros > due) {
      return Violation(id, absl::StrCat("checkpoint ", id, " (", pending.kind, ", triggered at ",
                                        pending.trigger_micros, "us) is still pending at ", event.time_micros,
                                        "us, past its timeout at ", pending.deadline_micros,
                                        "us with the coordinator idle since: expected CHECKPOINT_EXPIRED then (",
                                        "seen first: ", first, ")"));
    }
  }
  if (scheduler_running_ && next_tick_micros_.has_value()) {
    const int64_t due = std::max(*next_tick_micros_, calls_closed_micros_);
    if (event.time_micros > due) {
      return Violation(-1, absl::StrCat("the periodic trigger due at ", *next_tick_micros_, "us (base interval ",
                                        BaseInterval(), "us",
                                        config_.min_pause_micros > 0
                                            ? absl::StrCat(", min pause ", config_.min_pause_micros, "us")
                                            : std::string(),
                                        ") did not come by ", event.time_micros, "us (seen first: ", first,
                                        ")"));
    }
  }
  return std::nullopt;
}

std::optional<DecisionViolation> DecisionModel::CheckOwed(const DecisionEvent& event) {
  const bool decision = event.kind == Kind::kSchedulerStarted || event.kind == Kind::kSchedulerStopped ||
                        event.kind == Kind::kPeriodicRequest || event.kind == Kind::kRequestRejected ||
                        event.kind == Kind::kTriggered || event.kind == Kind::kCompleted ||
                        event.kind == Kind::kAborted || event.kind == Kind::kFailoverRequested;
  if (!decision) return std::nullopt;
  if (failover_owed_.has_value() && event.kind != Kind::kFailoverRequested) {
    return Violation(failover_owed_->checkpoint_id,
                     absl::StrCat("missing failover: ", failover_owed_->why, "; instead: ", event.ToString()));
  }
  if (!subsumption_owed_.empty() &&
      !(event.kind == Kind::kAborted && event.reason == "CHECKPOINT_SUBSUMED" &&
        subsumption_owed_.count(event.checkpoint_id) > 0)) {
    const int64_t id = *subsumption_owed_.begin();
    return Violation(id, absl::StrCat("checkpoint ", id, " was not subsumed when checkpoint ", subsumed_by_,
                                      " completed: expected CHECKPOINT_SUBSUMED; instead: ", event.ToString()));
  }
  return std::nullopt;
}

std::optional<DecisionViolation> DecisionModel::EndOfBatch(int64_t now_micros, uint64_t clock_jumps) {
  if (now_micros >= 0 && generation_ >= 0) {
    // The step ended at `now_micros`: a timer due before it had its chance (as CheckTimers for an event then).
    DecisionEvent now;
    now.kind = Kind::kRunningAttempts;
    now.time_micros = now_micros;
    now.clock_jumps = clock_jumps;
    if (now.clock_jumps != clock_jumps_) {
      clock_jumps_ = now.clock_jumps;
      calls_closed_micros_ = std::max(calls_closed_micros_, now_micros);
    }
    if (std::optional<DecisionViolation> late = CheckTimers(now, absl::StrCat("the end of the step at ", now_micros,
                                                                              "us"))) {
      return late;
    }
  }
  if (failover_owed_.has_value()) {
    return Violation(failover_owed_->checkpoint_id, absl::StrCat("missing failover: ", failover_owed_->why));
  }
  if (!subsumption_owed_.empty()) {
    const int64_t id = *subsumption_owed_.begin();
    return Violation(id, absl::StrCat("checkpoint ", id, " was not subsumed when checkpoint ", subsumed_by_,
                                      " completed: expected CHECKPOINT_SUBSUMED"));
  }
  return std::nullopt;
}

std::optional<DecisionViolation> DecisionModel::Apply(const DecisionEvent& event) {
  switch (event.kind) {
    case Kind::kCoordinatorStarted:
      return std::nullopt;
    case Kind::kCoordinatorKilled:
      killed_ = true;
      pending_.clear();
      scheduler_running_ = false;
      next_tick_micros_.reset();
      failover_owed_.reset();
      subsumption_owed_.clear();
      return std::nullopt;
    case Kind::kCallBegin:
      return OnCallBegin(event);
    case Kind::kCallEnd:
      return OnCallEnd(event);
    case Kind::kTaskOutcome: {
      std::set<std::string> allowed;
      switch (event.outcome) {
        case Outcome::kTriggerRefused:
          // Flink's task declines as not ready or closing, or ignores a trigger out of order; none counts.
          allowed = RefusalReasons();
          allowed.insert("");
          break;
        case Outcome::kSynchronousFailure:
          // The task fails; Task.triggerCheckpointBarrier declines with TASK_FAILURE.
          allowed = {"TASK_FAILURE"};
          break;
        case Outcome::kAsynchronousFailure:
          // AsyncCheckpointRunnable declines only while its task runs.
          allowed = {event.task_running ? "CHECKPOINT_ASYNC_EXCEPTION" : ""};
          break;
        case Outcome::kTriggerDuplicate:
        case Outcome::kCancelled:
        case Outcome::kNone:
          allowed = {""};
          break;
      }
      ++coverage_[absl::StrCat("task outcome: ", DecisionOutcomeName(event.outcome))];
      // One task may see several outcomes of one checkpoint (a duplicated trigger after the first one failed): a
      // decline may answer any of them.
      auto& entry = declines_allowed_[{event.checkpoint_id, event.subtask, event.attempt}];
      entry.first = absl::StrCat(entry.first, entry.first.empty() ? "" : " and ", DecisionOutcomeName(event.outcome),
                                 event.task_running ? "" : " (no longer running)");
      entry.second.insert(allowed.begin(), allowed.end());
      return std::nullopt;
    }
    case Kind::kRunningAttempts:
      all_running_ = event.all_running;
      return std::nullopt;
    case Kind::kFailoverRequested:
      if (!failover_owed_.has_value()) {
        return Violation(-1, absl::StrCat("extra failover: the coordinator failed the job over (", event.detail,
                                          ") but the model counts ", continuous_failures_, " consecutive failure(s) [",
                                          CountedSoFar(), "] against tolerable_failures ", config_.tolerable_failures,
                                          ", and no task failed a synchronous savepoint"));
      }
      failover_owed_.reset();
      return std::nullopt;
    case Kind::kSchedulerStarted:
      scheduler_running_ = true;
      // Deviation (header): the first periodic request comes one base interval after the start.
      next_tick_micros_ = event.time_micros + BaseInterval();
      return std::nullopt;
    case Kind::kSchedulerStopped:
      scheduler_running_ = false;
      next_tick_micros_.reset();
      return std::nullopt;
    case Kind::kPeriodicRequest: {
      if (!scheduler_running_) {
        return Violation(-1, absl::StrCat("a periodic request at ", event.time_micros,
                                          "us while the periodic scheduler is stopped"));
      }
      if (config_.strict_timing && next_tick_micros_.has_value() && event.time_micros < *next_tick_micros_) {
        return Violation(-1, absl::StrCat("a periodic request at ", event.time_micros, "us, before it was due at ",
                                          *next_tick_micros_, "us (base interval ", BaseInterval(), "us)"));
      }
      // Fixed rate: the next one is due one base interval after this one was due.
      if (next_tick_micros_.has_value()) *next_tick_micros_ += BaseInterval();
      ++outstanding_periodic_;
      return std::nullopt;
    }
    case Kind::kRequestRejected:
      return OnRejected(event);
    case Kind::kTriggered:
      return OnTriggered(event);
    case Kind::kCompleted: {
      auto found = pending_.find(event.checkpoint_id);
      if (found == pending_.end()) {
        return Violation(event.checkpoint_id, absl::StrCat("checkpoint ", event.checkpoint_id,
                                                           " completed, but it is not pending"));
      }
      const Pending pending = found->second;
      if (static_cast<int>(pending.acknowledged.size()) != config_.parallelism) {
        return Violation(event.checkpoint_id,
                         absl::StrCat("checkpoint ", event.checkpoint_id, " completed with acknowledgements from ",
                                      pending.acknowledged.size(), " of ", config_.parallelism, " subtasks"));
      }
      if (!CallOpen(Call::kAcknowledge, event.checkpoint_id)) {
        return Violation(event.checkpoint_id, absl::StrCat("checkpoint ", event.checkpoint_id,
                                                           " completed outside the acknowledgement that completed it"));
      }
      pending_.erase(found);
      last_completion_micros_ = event.time_micros;
      if (event.checkpoint_id > last_succeeded_id_) {
        if (continuous_failures_ > 0) ++coverage_["decision: a completion reset the failure count"];
        last_succeeded_id_ = event.checkpoint_id;
        continuous_failures_ = 0;
        counted_.clear();
      }
      // Checkpoints and synchronous savepoints subsume older pending checkpoints; savepoints never are.
      if (pending.kind != "savepoint") {
        for (const auto& [id, other] : pending_) {
          if (id < event.checkpoint_id && !IsSavepoint(other.kind)) subsumption_owed_.insert(id);
        }
        subsumed_by_ = event.checkpoint_id;
      }
      return std::nullopt;
    }
    case Kind::kAborted:
      return OnAborted(event);
  }
  return std::nullopt;
}

std::optional<DecisionViolation> DecisionModel::OnCallBegin(const DecisionEvent& event) {
  OpenCall open;
  open.call = event.call;
  open.begin_micros = event.time_micros;
  open.checkpoint_id = event.checkpoint_id;
  open.subtask = event.subtask;
  open.reason = event.reason;
  open_calls_[event.call_id] = open;
  switch (event.call) {
    case Call::kRequestCheckpoint:
      ++outstanding_manual_;
      break;
    case Call::kAcknowledge: {
      auto found = pending_.find(event.checkpoint_id);
      if (found != pending_.end()) found->second.acknowledged.insert(event.subtask);
      break;
    }
    case Call::kDecline: {
      auto allowed = declines_allowed_.find({event.checkpoint_id, event.subtask, event.attempt});
      if (allowed == declines_allowed_.end()) {
        return Violation(event.checkpoint_id,
                         absl::StrCat("subtask ", event.subtask, " attempt ", event.attempt, " declined checkpoint ",
                                      event.checkpoint_id, " with ", event.reason,
                                      ", but its task reported nothing wrong with that snapshot"));
      }
      if (allowed->second.second.count(event.reason) == 0) {
        std::set<std::string> expected = allowed->second.second;
        expected.erase("");
        return Violation(event.checkpoint_id,
                         absl::StrCat("subtask ", event.subtask, " attempt ", event.attempt, " declined checkpoint ",
                                      event.checkpoint_id, " with ", event.reason, " after its ",
                                      allowed->second.first, "; Flink's task sends ",
                                      allowed->second.second.count("") > 0 && expected.empty()
                                          ? std::string("no decline at all")
                                          : Describe(expected)));
      }
      break;
    }
    default:
      break;
  }
  return std::nullopt;
}

std::optional<DecisionViolation> DecisionModel::OnCallEnd(const DecisionEvent& event) {
  auto found = open_calls_.find(event.call_id);
  if (found == open_calls_.end()) return std::nullopt;
  const OpenCall call = found->second;
  open_calls_.erase(found);
  if (open_calls_.empty()) calls_closed_micros_ = std::max(calls_closed_micros_, event.time_micros);
  if (killed_) return std::nullopt;
  switch (call.call) {
    case Call::kAbortPending:
    case Call::kStopScheduler:
    case Call::kShutdown:
      if (!pending_.empty()) {
        const int64_t id = pending_.begin()->first;
        return Violation(id, absl::StrCat("checkpoint ", id, " is still pending after ", DecisionCallName(call.call),
                                          " aborted every pending checkpoint"));
      }
      if (call.call != Call::kAbortPending) {
        // A request whose call is still open may not have reached the queue yet (it waits for the lock).
        int requests_in_flight = 0;
        for (const auto& [id, open] : open_calls_) requests_in_flight += open.call == Call::kRequestCheckpoint;
        const int queued = outstanding_periodic_ + outstanding_manual_ - requests_in_flight;
        if (queued > 0) {
          return Violation(-1, absl::StrCat(queued, " request(s) still queued after ", DecisionCallName(call.call)));
        }
      }
      if (call.call == Call::kShutdown) shut_down_ = true;
      return std::nullopt;
    case Call::kAcknowledge: {
      auto pending = pending_.find(call.checkpoint_id);
      if (pending != pending_.end()) pending->second.acknowledged_calls_ended.insert(call.subtask);
      if (pending != pending_.end() &&
          static_cast<int>(pending->second.acknowledged_calls_ended.size()) == config_.parallelism) {
        return Violation(call.checkpoint_id, absl::StrCat("every subtask acknowledged checkpoint ", call.checkpoint_id,
                                                          ", yet it neither completed nor failed"));
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

std::optional<DecisionViolation> DecisionModel::OnRejected(const DecisionEvent& event) {
  const std::string& reason = event.reason;
  int& outstanding = event.periodic ? outstanding_periodic_ : outstanding_manual_;
  if (outstanding <= 0) {
    return Violation(-1, absl::StrCat("a ", event.periodic ? "periodic" : "manual", " request was rejected (",
                                      reason, ") but none was outstanding"));
  }
  --outstanding;
  ++coverage_[absl::StrCat("request rejected ", reason)];
  std::string allowed_when;
  bool allowed = false;
  if (reason == "MINIMUM_TIME_BETWEEN_CHECKPOINTS") {
    allowed = event.periodic && last_completion_micros_ >= 0 &&
              (!config_.strict_timing ||
               event.time_micros - last_completion_micros_ < config_.min_pause_micros);
    allowed_when = absl::StrCat("a periodic request within min pause ", config_.min_pause_micros,
                                "us of the last completion (at ", last_completion_micros_, "us)");
    if (allowed && config_.strict_timing && scheduler_running_) {
      // CheckpointRequestDecider's rescheduleTrigger: the next periodic request comes when the pause ends.
      next_tick_micros_ = last_completion_micros_ + config_.min_pause_micros;
      ++coverage_["decision: periodic trigger rescheduled after the min pause"];
    }
  } else if (reason == "NOT_ALL_REQUIRED_TASKS_RUNNING") {
    allowed = !all_running_;
    allowed_when = "not every task runs";
  } else if (reason == "PERIODIC_SCHEDULER_SHUTDOWN") {
    allowed = event.periodic && !scheduler_running_;
    allowed_when = "a periodic request after the periodic scheduler stopped";
  } else if (reason == "CHECKPOINT_COORDINATOR_SUSPEND") {
    allowed = CallOpen(Call::kStopScheduler);
    allowed_when = "the periodic scheduler is being stopped";
  } else if (reason == "CHECKPOINT_COORDINATOR_SHUTDOWN") {
    allowed = shut_down_ || CallOpen(Call::kShutdown);
    allowed_when = "the coordinator shuts down";
  } else if (reason == "TOO_MANY_CHECKPOINT_REQUESTS") {
    allowed = outstanding_periodic_ + outstanding_manual_ + 1 > 1000;
    allowed_when = "1000 requests are queued";
  }
  if (!allowed) {
    return Violation(-1, absl::StrCat("a ", event.periodic ? "periodic" : "manual", " ", event.checkpoint_kind,
                                      " request was rejected at ", event.time_micros, "us with ", reason,
                                      allowed_when.empty() ? std::string(", which no request may be rejected with")
                                                           : absl::StrCat(", allowed only when ", allowed_when)));
  }
  return std::nullopt;
}

std::optional<DecisionViolation> DecisionModel::OnTriggered(const DecisionEvent& event) {
  int& outstanding = event.periodic ? outstanding_periodic_ : outstanding_manual_;
  if (outstanding <= 0) {
    return Violation(event.checkpoint_id, absl::StrCat(event.checkpoint_kind, " ", event.checkpoint_id,
                                                       " was triggered without a ",
                                                       event.periodic ? "periodic" : "manual", " request"));
  }
  --outstanding;
  if (!all_running_) {
    return Violation(event.checkpoint_id, absl::StrCat("checkpoint ", event.checkpoint_id,
                                                       " was triggered although not every task runs"));
  }
  if (pending_.count(event.checkpoint_id) > 0) {
    return Violation(event.checkpoint_id, absl::StrCat("checkpoint ", event.checkpoint_id, " was triggered twice"));
  }
  if (!IsSavepoint(event.checkpoint_kind) && static_cast<int>(pending_.size()) >= config_.max_concurrent) {
    return Violation(event.checkpoint_id,
                     absl::StrCat("checkpoint ", event.checkpoint_id, " was triggered with ", pending_.size(),
                                   " checkpoint(s) pending; max_concurrent is ", config_.max_concurrent));
  }
  if (event.periodic && config_.strict_timing && config_.min_pause_micros > 0 && last_completion_micros_ >= 0 &&
      event.time_micros - last_completion_micros_ < config_.min_pause_micros) {
    return Violation(event.checkpoint_id,
                     absl::StrCat("periodic checkpoint ", event.checkpoint_id, " was triggered at ",
                                  event.time_micros, "us, ", event.time_micros - last_completion_micros_,
                                  "us after the last completion; min pause is ", config_.min_pause_micros,
                                  "us: expected MINIMUM_TIME_BETWEEN_CHECKPOINTS"));
  }
  Pending pending;
  pending.id = event.checkpoint_id;
  pending.kind = event.checkpoint_kind;
  pending.periodic = event.periodic;
  pending.trigger_micros = event.time_micros;
  pending.deadline_micros = event.time_micros + config_.timeout_micros;
  pending_[pending.id] = pending;
  ++coverage_[event.periodic ? "decision: periodic trigger" : "decision: manual trigger"];
  return std::nullopt;
}

std::optional<DecisionViolation> DecisionModel::OnAborted(const DecisionEvent& event) {
  auto found = pending_.find(event.checkpoint_id);
  if (found == pending_.end()) {
    return Violation(event.checkpoint_id, absl::StrCat("checkpoint ", event.checkpoint_id, " was aborted (",
                                                       event.reason, "), but it is not pending"));
  }
  const Pending pending = found->second;
  const int64_t id = pending.id;
  // Every reason the model allows now, each with whether a task reported it.
  std::map<std::string, bool> allowed;
  if (!config_.strict_timing || event.time_micros >= pending.deadline_micros) allowed["CHECKPOINT_EXPIRED"] = false;
  if (subsumption_owed_.count(id) > 0) allowed["CHECKPOINT_SUBSUMED"] = false;
  if (CallOpen(Call::kAbortPending, -1, "JOB_FAILOVER_REGION")) allowed["JOB_FAILOVER_REGION"] = false;
  if (CallOpen(Call::kStopScheduler)) allowed["CHECKPOINT_COORDINATOR_SUSPEND"] = false;
  if (CallOpen(Call::kShutdown)) allowed["CHECKPOINT_COORDINATOR_SHUTDOWN"] = false;
  if (CallOpen(Call::kAcknowledge, id)) {
    // Deviation (header): a refused acknowledgement aborts at once.
    allowed["ACKNOWLEDGED_STATE_REFUSED"] = false;
    if (static_cast<int>(pending.acknowledged.size()) == config_.parallelism) {
      allowed["FINALIZE_CHECKPOINT_FAILURE"] = false;
    }
  }
  for (const auto& [call_id, call] : open_calls_) {
    if (call.call == Call::kDecline && call.checkpoint_id == id) allowed[call.reason] = true;
  }
  auto match = allowed.find(event.reason);
  if (match == allowed.end()) {
    std::vector<std::string> expected;
    for (const auto& [reason, task] : allowed) expected.push_back(reason);
    return Violation(id, absl::StrCat("checkpoint ", id, " (", pending.kind, ", triggered at ",
                                      pending.trigger_micros, "us, timeout at ", pending.deadline_micros,
                                      "us) was aborted at ", event.time_micros, "us with ", event.reason,
                                      "; expected ",
                                      expected.empty() ? std::string("no abort now")
                                                       : absl::StrCat("one of ", absl::StrJoin(expected, ", "))));
  }
  if (match->second != event.task_level) {
    return Violation(id, absl::StrCat("checkpoint ", id, " was aborted with ", event.reason, " reported as ",
                                      event.task_level ? "a task's failure" : "the job manager's failure",
                                      "; it is ", match->second ? "a task's" : "the job manager's"));
  }
  subsumption_owed_.erase(id);
  pending_.erase(found);
  ++coverage_[absl::StrCat("abort ", event.reason)];
  Count(pending, event.reason, match->second);
  return std::nullopt;
}

void DecisionModel::Count(const Pending& pending, const std::string& reason, bool task_level) {
  const bool savepoint = IsSavepoint(pending.kind);
  if (task_level && pending.kind == "sync-savepoint") {
    failover_owed_ = Expected{absl::StrCat("a task failed synchronous savepoint ", pending.id, " (", reason,
                                           "): Flink always fails the job over"),
                              pending.id};
    ++coverage_["decision: failover by a task's failed synchronous savepoint"];
    return;
  }
  if (!task_level && savepoint) return;  // the user's request; a failover would not help
  if (config_.tolerable_failures < 0) return;
  if (pending.id <= last_succeeded_id_) {
    ++coverage_["decision: failure older than the last success not counted"];
    return;
  }
  if (!DecisionModelCountsReason(reason)) {
    if (task_level) ++coverage_["decision: decline not counted"];
    return;
  }
  for (const auto& [id, counted_reason] : counted_) {
    if (id == pending.id) {
      ++coverage_["decision: failure counted once"];
      return;
    }
  }
  counted_.emplace_back(pending.id, reason);
  ++continuous_failures_;
  ++coverage_[absl::StrCat("decision: failure counted (", reason, ")")];
  if (continuous_failures_ > config_.tolerable_failures) {
    failover_owed_ = Expected{absl::StrCat("checkpoints ", CountedSoFar(), " failed in a row for counted reasons, ",
                                           continuous_failures_, " > tolerable_failures ",
                                           config_.tolerable_failures, ": Flink fails the job over"),
                              pending.id};
    ++coverage_["decision: failover by tolerable failures"];
    continuous_failures_ = 0;
    counted_.clear();
  }
}

}  // namespace snapsim
