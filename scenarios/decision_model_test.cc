// The decision model on hand-made decision logs: each rule must pass Flink's decision and flag a wrong one, with the
// message a user reads (the checkpoints counted, the reason seen and the ones expected).
#include "scenarios/decision_model.h"

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace snapsim {
namespace {

using Kind = DecisionEvent::Kind;
using Call = DecisionEvent::Call;

class Log {
 public:
  explicit Log(DecisionModelConfig config) : model_(config, nullptr) {
    DecisionEvent started;
    started.kind = Kind::kCoordinatorStarted;
    started.coordinator = 1;
    Feed(started);
  }

  // Each helper feeds one event at `time`; the first violation is kept.
  void Trigger(int64_t time, int64_t id, const std::string& kind = "checkpoint", bool periodic = false) {
    if (!periodic) {
      const uint64_t call = Begin(time, Call::kRequestCheckpoint);
      Running(time, true);
      Event(time, Kind::kTriggered, id, kind, "", periodic);
      End(time, call);
    } else {
      Running(time, true);
      Event(time, Kind::kTriggered, id, kind, "", periodic);
    }
  }
  void Ack(int64_t begin, int64_t end, int64_t id, int subtask, bool completes) {
    DecisionEvent details;
    details.checkpoint_id = id;
    details.subtask = subtask;
    details.attempt = 1;
    const uint64_t call = Begin(begin, Call::kAcknowledge, details);
    if (completes) Event(end, Kind::kCompleted, id);
    End(end, call);
  }
  void Abort(int64_t time, int64_t id, const std::string& reason, bool task_level = false) {
    Event(time, Kind::kAborted, id, "", reason, false, task_level);
  }
  void Decline(int64_t time, int64_t id, int subtask, const std::string& reason, DecisionEvent::Outcome outcome,
               bool aborts) {
    DecisionEvent seen;
    seen.kind = Kind::kTaskOutcome;
    seen.checkpoint_id = id;
    seen.subtask = subtask;
    seen.attempt = 1;
    seen.outcome = outcome;
    Feed(At(time, seen));
    DecisionEvent details;
    details.checkpoint_id = id;
    details.subtask = subtask;
    details.attempt = 1;
    details.reason = reason;
    const uint64_t call = Begin(time, Call::kDecline, details);
    if (aborts) Abort(time, id, reason, true);
    End(time, call);
  }
  void Failover(int64_t time) {
    DecisionEvent event;
    event.kind = Kind::kFailoverRequested;
    event.detail = "Exceeded checkpoint tolerable failure threshold";
    Feed(At(time, event));
  }
  void Event(int64_t time, Kind kind, int64_t id = -1, const std::string& checkpoint_kind = "",
             const std::string& reason = "", bool periodic = false, bool task_level = false) {
    DecisionEvent event;
    event.kind = kind;
    event.checkpoint_id = id;
    event.checkpoint_kind = checkpoint_kind;
    event.reason = reason;
    event.periodic = periodic;
    event.task_level = task_level;
    Feed(At(time, event));
  }
  void Running(int64_t time, bool all) {
    DecisionEvent event;
    event.kind = Kind::kRunningAttempts;
    event.all_running = all;
    Feed(At(time, event));
  }
  uint64_t Begin(int64_t time, Call call, DecisionEvent details = {}) {
    details.kind = Kind::kCallBegin;
    details.call = call;
    details.call_id = ++calls_;
    Feed(At(time, details));
    return details.call_id;
  }
  void End(int64_t time, uint64_t call_id) {
    DecisionEvent event;
    event.kind = Kind::kCallEnd;
    event.call_id = call_id;
    Feed(At(time, event));
  }
  void EndOfBatch() {
    if (!violation_.has_value()) violation_ = model_.EndOfBatch();
  }
  const std::optional<DecisionViolation>& violation() const { return violation_; }
  std::string detail() const { return violation_.has_value() ? violation_->detail : "(none)"; }

 private:
  static DecisionEvent At(int64_t time, DecisionEvent event) {
    event.time_micros = time;
    event.coordinator = 1;
    return event;
  }
  void Feed(const DecisionEvent& event) {
    if (violation_.has_value()) return;
    violation_ = model_.Observe(event);
  }

  DecisionModel model_;
  uint64_t calls_ = 0;
  std::optional<DecisionViolation> violation_;
};

DecisionModelConfig Config(int tolerable, int parallelism = 1) {
  DecisionModelConfig config;
  config.parallelism = parallelism;
  config.max_concurrent = 1;
  config.timeout_micros = 100;
  config.tolerable_failures = tolerable;
  return config;
}

TEST(DecisionModelTest, CountedFailuresAboveTheThresholdFailTheJobOver) {
  Log log(Config(1));
  log.Trigger(0, 1);
  log.Abort(100, 1, "CHECKPOINT_EXPIRED");
  log.Trigger(110, 2);
  log.Abort(210, 2, "CHECKPOINT_EXPIRED");
  log.Failover(210);
  log.EndOfBatch();
  EXPECT_FALSE(log.violation().has_value()) << log.detail();
}

TEST(DecisionModelTest, AMissingFailoverNamesTheCheckpointsCountedAndTheThreshold) {
  Log log(Config(1));
  log.Trigger(0, 1);
  log.Abort(100, 1, "CHECKPOINT_EXPIRED");
  log.Trigger(110, 2);
  log.Abort(210, 2, "FINALIZE_CHECKPOINT_FAILURE");  // not allowed here: no acknowledgement
  ASSERT_TRUE(log.violation().has_value());
  EXPECT_NE(log.detail().find("expected one of CHECKPOINT_EXPIRED"), std::string::npos) << log.detail();

  Log missing(Config(1));
  missing.Trigger(0, 1);
  missing.Abort(100, 1, "CHECKPOINT_EXPIRED");
  missing.Trigger(110, 2);
  missing.Abort(210, 2, "CHECKPOINT_EXPIRED");
  missing.Trigger(220, 3);  // the coordinator decides on without failing the job over
  ASSERT_TRUE(missing.violation().has_value());
  EXPECT_NE(missing.detail().find("missing failover: checkpoints 1 (CHECKPOINT_EXPIRED), 2 (CHECKPOINT_EXPIRED)"),
            std::string::npos)
      << missing.detail();
  EXPECT_NE(missing.detail().find("2 > tolerable_failures 1"), std::string::npos) << missing.detail();
}

TEST(DecisionModelTest, AnExtraFailoverIsAViolation) {
  Log log(Config(1));
  log.Trigger(0, 1);
  log.Abort(100, 1, "CHECKPOINT_EXPIRED");
  log.Failover(100);
  ASSERT_TRUE(log.violation().has_value());
  EXPECT_NE(log.detail().find("extra failover"), std::string::npos) << log.detail();
  EXPECT_NE(log.detail().find("1 consecutive failure(s) [1 (CHECKPOINT_EXPIRED)]"), std::string::npos)
      << log.detail();
}

TEST(DecisionModelTest, ASuccessResetsTheCount) {
  Log log(Config(1));
  log.Trigger(0, 1);
  log.Abort(100, 1, "CHECKPOINT_EXPIRED");
  log.Trigger(110, 2);
  log.Ack(120, 120, 2, 0, true);
  log.Trigger(130, 3);
  log.Abort(230, 3, "CHECKPOINT_EXPIRED");  // one failure since the success: no failover
  log.EndOfBatch();
  EXPECT_FALSE(log.violation().has_value()) << log.detail();
}

TEST(DecisionModelTest, AFailureOlderThanTheLastSuccessDoesNotCount) {
  DecisionModelConfig config = Config(0);
  config.max_concurrent = 2;
  Log log(config);
  log.Trigger(0, 1, "savepoint");
  log.Trigger(10, 2);
  log.Ack(20, 20, 2, 0, true);
  // Savepoint 1 fails in a task after checkpoint 2 succeeded: older than the last success, not counted.
  log.Decline(30, 1, 0, "CHECKPOINT_ASYNC_EXCEPTION", DecisionEvent::Outcome::kAsynchronousFailure, true);
  log.EndOfBatch();
  EXPECT_FALSE(log.violation().has_value()) << log.detail();
}

TEST(DecisionModelTest, DeclinesThatMustNotCount) {
  Log log(Config(0));
  log.Trigger(0, 1);
  log.Decline(5, 1, 0, "TASK_FAILURE", DecisionEvent::Outcome::kSynchronousFailure, true);
  log.Trigger(10, 2);
  log.Decline(15, 2, 0, "CHECKPOINT_DECLINED_SUBSUMED", DecisionEvent::Outcome::kTriggerRefused, true);
  log.EndOfBatch();
  EXPECT_FALSE(log.violation().has_value()) << log.detail();

  Log counted(Config(-1));
  counted.Trigger(0, 1);
  counted.Decline(5, 1, 0, "CHECKPOINT_DECLINED", DecisionEvent::Outcome::kSynchronousFailure, true);
  ASSERT_TRUE(counted.violation().has_value());
  EXPECT_NE(counted.detail().find("after its synchronous part failed; Flink's task sends TASK_FAILURE"),
            std::string::npos)
      << counted.detail();

  Log cancelled(Config(-1));
  cancelled.Trigger(0, 1);
  cancelled.Decline(5, 1, 0, "CHECKPOINT_ASYNC_EXCEPTION", DecisionEvent::Outcome::kCancelled, true);
  ASSERT_TRUE(cancelled.violation().has_value());
  EXPECT_NE(cancelled.detail().find("sends no decline at all"), std::string::npos) << cancelled.detail();
}

TEST(DecisionModelTest, ATaskFailingASynchronousSavepointFailsTheJobOver) {
  Log log(Config(-1));
  log.Trigger(0, 1, "sync-savepoint");
  log.Decline(5, 1, 0, "CHECKPOINT_ASYNC_EXCEPTION", DecisionEvent::Outcome::kAsynchronousFailure, true);
  log.EndOfBatch();
  ASSERT_TRUE(log.violation().has_value());
  EXPECT_NE(log.detail().find("a task failed synchronous savepoint 1"), std::string::npos) << log.detail();
}

TEST(DecisionModelTest, ALateAcknowledgementMustNotCompleteAnExpiredCheckpoint) {
  Log log(Config(-1));
  log.Trigger(0, 1);
  // No call was open from the timeout at 100 us on: the checkpoint had to expire before this acknowledgement.
  log.Ack(150, 150, 1, 0, true);
  ASSERT_TRUE(log.violation().has_value());
  EXPECT_NE(log.detail().find("past its timeout at 100us"), std::string::npos) << log.detail();

  // The same acknowledgement while a completion held the coordinator's lock across the timeout: either order.
  Log busy(Config(-1));
  busy.Trigger(0, 1);
  const uint64_t held = busy.Begin(90, Call::kStopScheduler);
  busy.Ack(150, 150, 1, 0, true);
  busy.End(160, held);
  EXPECT_FALSE(busy.violation().has_value()) << busy.detail();
}

TEST(DecisionModelTest, ExpiringBeforeTheTimeoutIsAWrongReason) {
  Log log(Config(-1));
  log.Trigger(0, 1);
  log.Abort(50, 1, "CHECKPOINT_EXPIRED");
  ASSERT_TRUE(log.violation().has_value());
  EXPECT_NE(log.detail().find("was aborted at 50us with CHECKPOINT_EXPIRED; expected no abort now"),
            std::string::npos)
      << log.detail();
}

TEST(DecisionModelTest, MaxConcurrentAndMinPause) {
  Log concurrent(Config(-1));
  concurrent.Trigger(0, 1);
  concurrent.Trigger(10, 2);
  ASSERT_TRUE(concurrent.violation().has_value());
  EXPECT_NE(concurrent.detail().find("max_concurrent is 1"), std::string::npos) << concurrent.detail();

  DecisionModelConfig config = Config(-1);
  config.interval_micros = 50;
  config.min_pause_micros = 40;
  config.timeout_micros = 1000;
  Log paused(config);
  paused.Event(0, Kind::kSchedulerStarted);
  paused.Trigger(5, 1);
  paused.Ack(10, 20, 1, 0, true);  // completes at 20: periodic checkpoints wait until 60
  paused.Event(50, Kind::kPeriodicRequest, -1, "", "", true);
  paused.Running(50, true);
  paused.Event(50, Kind::kTriggered, 2, "checkpoint", "", true);
  ASSERT_TRUE(paused.violation().has_value());
  EXPECT_NE(paused.detail().find("min pause is 40us: expected MINIMUM_TIME_BETWEEN_CHECKPOINTS"),
            std::string::npos)
      << paused.detail();

  // Refused, then rescheduled to 60 (the pause's end): a request on the old schedule (100) comes too late.
  Log rescheduled(config);
  rescheduled.Event(0, Kind::kSchedulerStarted);
  rescheduled.Trigger(5, 1);
  rescheduled.Ack(10, 20, 1, 0, true);
  rescheduled.Event(50, Kind::kPeriodicRequest, -1, "", "", true);
  rescheduled.Event(50, Kind::kRequestRejected, -1, "checkpoint", "MINIMUM_TIME_BETWEEN_CHECKPOINTS", true);
  rescheduled.Event(100, Kind::kPeriodicRequest, -1, "", "", true);
  ASSERT_TRUE(rescheduled.violation().has_value());
  EXPECT_NE(rescheduled.detail().find("the periodic trigger due at 60us"), std::string::npos) << rescheduled.detail();
}

}  // namespace
}  // namespace snapsim
