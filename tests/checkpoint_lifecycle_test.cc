// The checkpoint lifecycle end to end on the simulated world: coordinator, completed checkpoint store, shared
// state registry, restore modes, and the simulated job's restarts. After Flink's ResumeCheckpointManuallyITCase,
// CheckpointCoordinatorTest and SharedStateRegistry ownership rules (shared/flink/JOBMANAGER_SIDE.md).
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sim/sim_job.h"
#include "sim/sim_object_store.h"
#include "sim/sim_scheduler.h"

namespace snapsim {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

class CheckpointLifecycleTest : public ::testing::Test {
 protected:
  CheckpointLifecycleTest() : scheduler_(7), store_(&scheduler_, Prng(7).Child("store")) {}
  ~CheckpointLifecycleTest() override { scheduler_.RunUntilQuiescent(); }

  std::unique_ptr<SimJob> StartJob(SimJobConfig config, std::optional<SimJobRestore> restore = std::nullopt) {
    absl::StatusOr<std::unique_ptr<SimJob>> job = SimJob::Start(config, &scheduler_, &store_, Prng(7), restore);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *std::move(job) : nullptr;
  }

  // Writes keys [from, to) with values tagged `tag`, then flushes (new SST files).
  void Write(SimJob& job, int from, int to, const std::string& tag) {
    for (int i = from; i < to; ++i) ASSERT_TRUE(job.Put(absl::StrCat("key-", i), absl::StrCat(tag, "-", i)).ok());
    ASSERT_TRUE(job.Flush().ok());
  }

  void ExpectRestoredStateIsTheModel(SimJob& job) {
    absl::StatusOr<KeyValueMap> actual = job.ActualState();
    ASSERT_TRUE(actual.ok()) << actual.status();
    EXPECT_EQ(*actual, job.Model());
  }

  std::shared_ptr<const CompletedCheckpoint> CheckpointOk(SimJob& job,
                                                         CheckpointKind kind = CheckpointKind::kCheckpoint) {
    CheckpointCoordinator::Result result = job.Checkpoint(kind);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : nullptr;
  }

  std::set<std::string> ObjectsUnder(const std::string& prefix) {
    std::set<std::string> found;
    for (const std::string& path : store_.AllPaths()) {
      if (absl::StartsWith(path, prefix)) found.insert(path);
    }
    return found;
  }

  bool AllExist(const std::set<std::string>& paths) {
    const std::vector<std::string> all = store_.AllPaths();
    const std::set<std::string> present(all.begin(), all.end());
    for (const std::string& path : paths) {
      if (present.count(path) == 0) {
        ADD_FAILURE() << "missing " << path;
        return false;
      }
    }
    return true;
  }

  bool NoneExist(const std::set<std::string>& paths) {
    const std::vector<std::string> all = store_.AllPaths();
    const std::set<std::string> present(all.begin(), all.end());
    for (const std::string& path : paths) {
      if (present.count(path) > 0) {
        ADD_FAILURE() << "still there: " << path;
        return false;
      }
    }
    return true;
  }

  // Everything under the job's checkpoint root is referenced by a retained checkpoint (DESIGN.md invariant 3).
  void ExpectOnlyReferencedFiles(SimJob& job) {
    scheduler_.RunUntilQuiescent();
    const std::set<std::string> referenced = job.ReferencedPaths();
    for (const std::string& path : ObjectsUnder(job.checkpoint_root() + "/")) {
      EXPECT_TRUE(referenced.count(path) > 0) << "leaked: " << path;
    }
    EXPECT_TRUE(AllExist(referenced));
  }

  SimScheduler scheduler_;
  SimObjectStore store_;
};

TEST_F(CheckpointLifecycleTest, IncrementalCheckpointsCompleteRestoreAndLeaveOnlyReferencedFiles) {
  SimJobConfig config;
  config.parallelism = 2;
  std::unique_ptr<SimJob> job = StartJob(config);
  ASSERT_NE(job, nullptr);
  Write(*job, 0, 200, "a");
  std::shared_ptr<const CompletedCheckpoint> first = CheckpointOk(*job);
  ASSERT_NE(first, nullptr);
  Write(*job, 100, 300, "b");
  std::shared_ptr<const CompletedCheckpoint> second = CheckpointOk(*job);
  ASSERT_NE(second, nullptr);
  EXPECT_GT(second->checkpoint_id, first->checkpoint_id);
  ExpectOnlyReferencedFiles(*job);
  // Checkpoint 1 is subsumed (one retained), but its SSTs live on in checkpoint 2 through placeholders.
  EXPECT_THAT(ObjectsUnder(first->external_pointer + "/"), IsEmpty());

  Write(*job, 0, 50, "c");  // lost by the failover
  ASSERT_TRUE(job->FailoverTasks().ok());
  ExpectRestoredStateIsTheModel(*job);
  EXPECT_EQ(job->Model().at("key-0"), "a-0");
  EXPECT_EQ(job->Model().at("key-150"), "b-150");
  Write(*job, 300, 320, "d");
  ASSERT_NE(CheckpointOk(*job), nullptr);
  ExpectOnlyReferencedFiles(*job);
}


bool ReferencesAnythingUnder(const CompletedCheckpoint& checkpoint, const std::string& prefix) {
  for (const std::string& path : ReferencedPaths(checkpoint)) {
    if (absl::StartsWith(path, prefix)) return true;
  }
  return false;
}

// How many of `later`'s shared files are uploads of `earlier` (the coordinator resolved the placeholders).
int SharedFilesReused(const CompletedCheckpoint& later, const CompletedCheckpoint& earlier) {
  const std::set<std::string> before = ReferencedPaths(earlier);
  int count = 0;
  for (const auto& state : later.subtask_states) {
    if (!state.has_value()) continue;
    if (const auto* handle = std::get_if<IncrementalRemoteKeyedStateHandle>(&*state)) {
      for (const HandleAndLocalPath& file : handle->shared_state) {
        EXPECT_FALSE(file.handle.is_placeholder()) << "unresolved placeholder " << file.handle.path;
        count += before.count(file.handle.path);
      }
    }
  }
  return count;
}

struct ResumeCase {
  RestoreMode mode;
  bool local_recovery;
};

std::string CaseName(const ::testing::TestParamInfo<ResumeCase>& info) {
  return absl::StrCat(RestoreModeName(info.param.mode), info.param.local_recovery ? "_LocalRecovery" : "");
}

class ResumeCheckpointManuallyTest : public CheckpointLifecycleTest,
                                     public ::testing::WithParamInterface<ResumeCase> {
 protected:
  SimJobConfig Config(const std::string& job_id, bool incremental, int parallelism = 2) {
    SimJobConfig config;
    config.job_id = job_id;
    config.parallelism = parallelism;
    config.incremental = incremental;
    config.local_recovery = GetParam().local_recovery;
    config.restore_mode = GetParam().mode;
    config.retention = CheckpointRetention::kRetainOnCancellation;
    return config;
  }

  // A task failover inside the job: every subtask restores the latest checkpoint, from local state when local
  // recovery is on.
  void FailoverAndVerify(SimJob& job) {
    ASSERT_TRUE(job.FailoverTasks().ok());
    ExpectRestoredStateIsTheModel(job);
    for (int i = 0; i < job.config().parallelism; ++i) {
      EXPECT_EQ(job.task(i)->restored_from_local_state(), GetParam().local_recovery) << "subtask " << i;
    }
  }
};

// Flink's ResumeCheckpointManuallyITCase: run full, checkpoint, resume incremental, checkpoint, resume full, in
// each restore mode, asserting the restored state and which files exist, and who deleted them, after each step.
TEST_P(ResumeCheckpointManuallyTest, FullThenIncrementalThenFull) {
  const RestoreMode mode = GetParam().mode;
  // 1. A native full job, retained on cancellation.
  std::unique_ptr<SimJob> job1 = StartJob(Config("job-1", /*incremental=*/false));
  ASSERT_NE(job1, nullptr);
  Write(*job1, 0, 200, "a");
  ASSERT_NE(CheckpointOk(*job1), nullptr);
  FailoverAndVerify(*job1);
  Write(*job1, 150, 260, "a2");
  std::shared_ptr<const CompletedCheckpoint> cp1 = CheckpointOk(*job1);
  ASSERT_NE(cp1, nullptr);
  EXPECT_FALSE(ReferencesAnythingUnder(*cp1, "checkpoints/job-1/shared/")) << "a native full checkpoint shares nothing";
  const std::set<std::string> files1 = ReferencedPaths(*cp1);
  const KeyValueMap model1 = *job1->ModelAt(cp1->checkpoint_id);
  job1->Stop(JobStatus::kCanceled);
  scheduler_.RunUntilQuiescent();
  // Retained: exactly the checkpoint's files are left (its store record is gone with the job).
  EXPECT_EQ(ObjectsUnder("checkpoints/job-1/"), files1);
  job1.reset();

  // 2. Resume incremental from job 1's checkpoint.
  std::unique_ptr<SimJob> job2 =
      StartJob(Config("job-2", /*incremental=*/true), SimJobRestore{cp1->external_pointer, model1});
  ASSERT_NE(job2, nullptr);
  ExpectRestoredStateIsTheModel(*job2);
  EXPECT_EQ(job2->Model(), model1);
  EXPECT_EQ(job2->coordinator().force_full_snapshot(), mode == RestoreMode::kNoClaim);
  Write(*job2, 100, 300, "b");
  std::shared_ptr<const CompletedCheckpoint> cp2 = CheckpointOk(*job2);
  ASSERT_NE(cp2, nullptr);
  EXPECT_GT(cp2->checkpoint_id, cp1->checkpoint_id);
  EXPECT_FALSE(job2->coordinator().force_full_snapshot());
  scheduler_.RunUntilQuiescent();
  if (mode == RestoreMode::kClaim) {
    // Job 2 owns job 1's checkpoint; once subsumed it deleted it.
    EXPECT_TRUE(NoneExist(files1));
  } else {
    // Never touched; under NO_CLAIM the first checkpoint shares nothing with it.
    EXPECT_TRUE(AllExist(files1));
  }
  EXPECT_FALSE(ReferencesAnythingUnder(*cp2, "checkpoints/job-1/"));
  FailoverAndVerify(*job2);
  Write(*job2, 280, 320, "b2");
  std::shared_ptr<const CompletedCheckpoint> cp2b = CheckpointOk(*job2);
  ASSERT_NE(cp2b, nullptr);
  // The second checkpoint after restore builds on the first.
  EXPECT_GT(SharedFilesReused(*cp2b, *cp2), 0);
  ExpectOnlyReferencedFiles(*job2);
  const std::set<std::string> files2 = ReferencedPaths(*cp2b);
  const KeyValueMap model2 = *job2->ModelAt(cp2b->checkpoint_id);
  job2->Stop(JobStatus::kCanceled);
  scheduler_.RunUntilQuiescent();
  EXPECT_EQ(ObjectsUnder("checkpoints/job-2/"), files2);
  job2.reset();

  // 3. Resume native full from job 2's incremental checkpoint.
  std::unique_ptr<SimJob> job3 =
      StartJob(Config("job-3", /*incremental=*/false), SimJobRestore{cp2b->external_pointer, model2});
  ASSERT_NE(job3, nullptr);
  ExpectRestoredStateIsTheModel(*job3);
  Write(*job3, 0, 10, "c");
  ASSERT_TRUE(job3->Remove("key-20").ok());
  std::shared_ptr<const CompletedCheckpoint> cp3 = CheckpointOk(*job3);
  ASSERT_NE(cp3, nullptr);
  EXPECT_FALSE(ReferencesAnythingUnder(*cp3, "checkpoints/job-2/"));
  scheduler_.RunUntilQuiescent();
  if (mode == RestoreMode::kClaim) {
    EXPECT_TRUE(NoneExist(files2));
    EXPECT_THAT(ObjectsUnder("checkpoints/job-2/"), IsEmpty());
  } else {
    EXPECT_TRUE(AllExist(files2));
    EXPECT_EQ(ObjectsUnder("checkpoints/job-2/"), files2);
  }
  FailoverAndVerify(*job3);
  EXPECT_EQ(job3->Model().count("key-20"), 0u);
  ExpectOnlyReferencedFiles(*job3);
  const std::set<std::string> files3 = ReferencedPaths(*job3->coordinator().RetainedCheckpoints().back());
  job3->Stop(JobStatus::kCanceled);
  scheduler_.RunUntilQuiescent();
  EXPECT_EQ(ObjectsUnder("checkpoints/job-3/"), files3);
}

INSTANTIATE_TEST_SUITE_P(AllModes, ResumeCheckpointManuallyTest,
                         ::testing::Values(ResumeCase{RestoreMode::kClaim, false},
                                           ResumeCase{RestoreMode::kClaim, true},
                                           ResumeCase{RestoreMode::kNoClaim, false},
                                           ResumeCase{RestoreMode::kNoClaim, true},
                                           ResumeCase{RestoreMode::kLegacy, false},
                                           ResumeCase{RestoreMode::kLegacy, true}),
                         CaseName);

}  // namespace
}  // namespace snapsim
