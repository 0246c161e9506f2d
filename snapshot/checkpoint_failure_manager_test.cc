#include "snapshot/checkpoint_failure_manager.h"

#include "gtest/gtest.h"

namespace snapsim {
namespace {

const CheckpointProperties kCheckpoint =
    CheckpointProperties::ForCheckpoint(CheckpointRetention::kRetainOnCancellation);
const CheckpointProperties kSavepoint = CheckpointProperties::ForSavepoint(SavepointFormat::kNative);
const CheckpointProperties kSyncSavepoint = CheckpointProperties::ForSavepoint(SavepointFormat::kNative, true);

bool Fails(CheckpointFailureManager& manager, int64_t id, CheckpointFailureReason reason, bool task_level = false,
           const CheckpointProperties& properties = kCheckpoint) {
  return manager.HandleCheckpointException(id, properties, reason, task_level, "test").has_value();
}

// Flink's CheckpointFailureManagerTest.testContinuousFailure: reasons that do not count break nothing.
TEST(CheckpointFailureManagerTest, CountsConsecutiveCountedFailures) {
  CheckpointFailureManager manager(2);
  EXPECT_FALSE(Fails(manager, 1, CheckpointFailureReason::kCheckpointDeclined, true));
  EXPECT_FALSE(Fails(manager, 2, CheckpointFailureReason::kCheckpointExpired));
  EXPECT_FALSE(Fails(manager, 3, CheckpointFailureReason::kJobFailoverRegion));
  EXPECT_FALSE(Fails(manager, 3, CheckpointFailureReason::kCheckpointSubsumed));
  EXPECT_TRUE(Fails(manager, 4, CheckpointFailureReason::kCheckpointAsyncException, true));
  // The count started anew.
  EXPECT_EQ(manager.continuous_failures(), 0);
  EXPECT_FALSE(Fails(manager, 5, CheckpointFailureReason::kCheckpointExpired));
}

// testTotalCountValue (1.18): the five counted reasons, FINALIZE_CHECKPOINT_FAILURE among them (FLINK-32347).
TEST(CheckpointFailureManagerTest, CountsTheFiveReasonsOfFlink118) {
  for (CheckpointFailureReason reason :
       {CheckpointFailureReason::kIoException, CheckpointFailureReason::kCheckpointDeclined,
        CheckpointFailureReason::kFinalizeCheckpointFailure, CheckpointFailureReason::kCheckpointExpired,
        CheckpointFailureReason::kCheckpointAsyncException}) {
    CheckpointFailureManager manager(0);
    EXPECT_TRUE(Fails(manager, 1, reason)) << CheckpointFailureReasonName(reason);
  }
}

// testIgnoreOneCheckpointRepeatedlyCountMultiTimes: a checkpoint counts once, however often it fails.
TEST(CheckpointFailureManagerTest, CountsACheckpointOnce) {
  CheckpointFailureManager manager(1);
  EXPECT_FALSE(Fails(manager, 1, CheckpointFailureReason::kCheckpointDeclined, true));
  EXPECT_FALSE(Fails(manager, 1, CheckpointFailureReason::kCheckpointExpired));
  EXPECT_EQ(manager.continuous_failures(), 1);
  EXPECT_TRUE(Fails(manager, 2, CheckpointFailureReason::kCheckpointExpired));
}

// testBreakContinuousFailure and testIgnoresPastCheckpoints: a success resets the count, and a checkpoint older than
// the last success no longer counts.
TEST(CheckpointFailureManagerTest, SuccessResetsAndOlderFailuresDoNotCount) {
  CheckpointFailureManager manager(1);
  EXPECT_FALSE(Fails(manager, 1, CheckpointFailureReason::kCheckpointExpired));
  manager.HandleCheckpointSuccess(3);
  EXPECT_EQ(manager.continuous_failures(), 0);
  EXPECT_FALSE(Fails(manager, 2, CheckpointFailureReason::kCheckpointExpired));
  EXPECT_FALSE(Fails(manager, 3, CheckpointFailureReason::kCheckpointExpired));
  EXPECT_EQ(manager.continuous_failures(), 0);
  EXPECT_FALSE(Fails(manager, 4, CheckpointFailureReason::kCheckpointExpired));
  EXPECT_TRUE(Fails(manager, 5, CheckpointFailureReason::kCheckpointExpired));
}

TEST(CheckpointFailureManagerTest, SavepointsFailingInTheJobManagerNeverCountButInATaskDo) {
  CheckpointFailureManager manager(0);
  EXPECT_FALSE(Fails(manager, 1, CheckpointFailureReason::kCheckpointExpired, false, kSavepoint));
  EXPECT_FALSE(Fails(manager, 2, CheckpointFailureReason::kCheckpointExpired, false, kSyncSavepoint));
  EXPECT_TRUE(Fails(manager, 3, CheckpointFailureReason::kCheckpointAsyncException, true, kSavepoint));
}

// A task failing a synchronous savepoint fails the job over whatever the reason and the count, even unlimited.
TEST(CheckpointFailureManagerTest, ATaskFailingASynchronousSavepointAlwaysFailsTheJobOver) {
  CheckpointFailureManager unlimited(-1);
  EXPECT_TRUE(Fails(unlimited, 1, CheckpointFailureReason::kCheckpointDeclinedSubsumed, true, kSyncSavepoint));
  EXPECT_TRUE(Fails(unlimited, 2, CheckpointFailureReason::kTaskFailure, true, kSyncSavepoint));
}

TEST(CheckpointFailureManagerTest, UnlimitedCountsNothing) {
  CheckpointFailureManager manager(-1);
  for (int id = 1; id < 100; ++id) EXPECT_FALSE(Fails(manager, id, CheckpointFailureReason::kCheckpointExpired));
}

TEST(CheckpointFailureManagerTest, ReasonsThatDoNotCount) {
  for (CheckpointFailureReason reason :
       {CheckpointFailureReason::kCheckpointSubsumed, CheckpointFailureReason::kCheckpointCoordinatorSuspend,
        CheckpointFailureReason::kCheckpointCoordinatorShutdown, CheckpointFailureReason::kJobFailoverRegion,
        CheckpointFailureReason::kTaskFailure, CheckpointFailureReason::kCheckpointDeclinedSubsumed,
        CheckpointFailureReason::kCheckpointDeclinedTaskClosing,
        CheckpointFailureReason::kCheckpointDeclinedTaskNotReady,
        CheckpointFailureReason::kMinimumTimeBetweenCheckpoints, CheckpointFailureReason::kAcknowledgedStateRefused}) {
    CheckpointFailureManager manager(0);
    EXPECT_FALSE(Fails(manager, 1, reason, true)) << CheckpointFailureReasonName(reason);
  }
}

TEST(CheckpointFailureReasonTest, NamesRoundTripAndTravelWithAStatus) {
  const absl::Status status = WithFailureReason(absl::FailedPreconditionError("subsumed"),
                                                CheckpointFailureReason::kCheckpointDeclinedSubsumed);
  EXPECT_EQ(FailureReasonOf(status), CheckpointFailureReason::kCheckpointDeclinedSubsumed);
  EXPECT_EQ(FailureReasonOf(absl::InternalError("x")), std::nullopt);
  EXPECT_EQ(ParseCheckpointFailureReason("CHECKPOINT_EXPIRED"), CheckpointFailureReason::kCheckpointExpired);
  EXPECT_EQ(ParseCheckpointFailureReason("NO_SUCH_REASON"), std::nullopt);
}

}  // namespace
}  // namespace snapsim
