// The checkpoint lifecycle end to end on the simulated world: coordinator, completed checkpoint store, shared
// state registry, restore modes, and the simulated job's restarts. After Flink's ResumeCheckpointManuallyITCase,
// CheckpointCoordinatorTest and SharedStateRegistry ownership rules (shared/flink/JOBMANAGER_SIDE.md).
#include <iostream>
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

int SharedFilesReused(const CompletedCheckpoint& later, const CompletedCheckpoint& earlier);
bool ReferencesAnythingUnder(const CompletedCheckpoint& checkpoint, const std::string& prefix);

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

  // What a stopped job leaves to resume from: its checkpoint's path, files and model state.
  struct Retained {
    std::string pointer;
    std::set<std::string> files;
    KeyValueMap model;
  };
  // Cancels `job` (retaining `checkpoint`), checks that exactly the checkpoint's files are left under the job's
  // root (its store records go with the job), and destroys it.
  Retained CancelRetaining(std::unique_ptr<SimJob>& job, const CompletedCheckpoint& checkpoint) {
    Retained retained{checkpoint.external_pointer, ReferencedPaths(checkpoint),
                      *job->ModelAt(checkpoint.checkpoint_id)};
    const std::string root = job->checkpoint_root() + "/";
    job->Stop(JobStatus::kCanceled);
    scheduler_.RunUntilQuiescent();
    EXPECT_EQ(ObjectsUnder(root), retained.files);
    job.reset();
    return retained;
  }

  void FailoverAndVerifyModel(SimJob& job) {
    ASSERT_TRUE(job.FailoverTasks().ok());
    ExpectRestoredStateIsTheModel(job);
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


TEST_F(CheckpointLifecycleTest, SavepointThenCheckpointChainNeverBuildsOnTheSavepoint) {
  SimJobConfig config;
  config.retention = CheckpointRetention::kRetainOnCancellation;
  std::unique_ptr<SimJob> job = StartJob(config);
  ASSERT_NE(job, nullptr);
  Write(*job, 0, 200, "a");
  std::shared_ptr<const CompletedCheckpoint> cp1 = CheckpointOk(*job);
  ASSERT_NE(cp1, nullptr);
  Write(*job, 200, 260, "b");
  CheckpointCoordinator::Result savepoint = job->Savepoint(SavepointFormat::kNative);
  ASSERT_TRUE(savepoint.ok()) << savepoint.status();
  const std::string savepoint_dir = (*savepoint)->external_pointer;
  EXPECT_TRUE(absl::StartsWith(savepoint_dir, "savepoints/savepoint-job-1-")) << savepoint_dir;
  const std::set<std::string> savepoint_files = ReferencedPaths(**savepoint);
  // A savepoint owns every file it references, in its own directory.
  for (const std::string& path : savepoint_files) EXPECT_TRUE(absl::StartsWith(path, savepoint_dir + "/")) << path;
  const KeyValueMap savepoint_model = *job->ModelAt((*savepoint)->checkpoint_id);
  Write(*job, 260, 300, "c");
  std::shared_ptr<const CompletedCheckpoint> cp3 = CheckpointOk(*job);
  ASSERT_NE(cp3, nullptr);
  // The savepoint is not in the store and the checkpoint after it builds on checkpoint 1, never on the savepoint.
  const auto retained = job->coordinator().RetainedCheckpoints();
  ASSERT_EQ(retained.size(), 1u);
  EXPECT_EQ(retained[0]->checkpoint_id, cp3->checkpoint_id);
  EXPECT_GT(SharedFilesReused(*cp3, *cp1), 0);
  EXPECT_FALSE(ReferencesAnythingUnder(*cp3, "savepoints/"));
  ExpectOnlyReferencedFiles(*job);
  EXPECT_TRUE(AllExist(savepoint_files));
  job->Stop(JobStatus::kCanceled);
  job.reset();

  // Resume from the savepoint in CLAIM mode: the job now owns it. Its SST files live in its own directory and the
  // first checkpoints reuse them, so it is discarded only once no retained checkpoint uses them (FLINK-28597).
  SimJobConfig resumed = config;
  resumed.job_id = "job-2";
  resumed.restore_mode = RestoreMode::kClaim;
  std::unique_ptr<SimJob> job2 = StartJob(resumed, SimJobRestore{savepoint_dir, savepoint_model});
  ASSERT_NE(job2, nullptr);
  ExpectRestoredStateIsTheModel(*job2);
  Write(*job2, 0, 20, "d");
  std::shared_ptr<const CompletedCheckpoint> after = CheckpointOk(*job2);
  ASSERT_NE(after, nullptr);
  EXPECT_TRUE(ReferencesAnythingUnder(*after, savepoint_dir + "/"));
  scheduler_.RunUntilQuiescent();
  EXPECT_TRUE(AllExist(savepoint_files)) << "discarded while a retained checkpoint still uses its files";
  // Compaction replaces every SST; the next checkpoint uses none of the savepoint's, which then goes.
  ASSERT_TRUE(job2->Compact().ok());
  ASSERT_NE(CheckpointOk(*job2), nullptr);
  scheduler_.RunUntilQuiescent();
  EXPECT_TRUE(NoneExist(savepoint_files));
  ExpectOnlyReferencedFiles(*job2);
  FailoverAndVerifyModel(*job2);
}

TEST_F(CheckpointLifecycleTest, StopWithSavepointNotifiesTasksAndResumesWithoutTouchingIt) {
  SimJobConfig config;
  config.retention = CheckpointRetention::kNeverRetainAfterTermination;
  std::unique_ptr<SimJob> job = StartJob(config);
  ASSERT_NE(job, nullptr);
  Write(*job, 0, 150, "a");
  std::shared_ptr<const CompletedCheckpoint> cp1 = CheckpointOk(*job);
  ASSERT_NE(cp1, nullptr);
  Write(*job, 150, 200, "b");
  CheckpointCoordinator::Result savepoint = job->Savepoint(SavepointFormat::kNative, /*synchronous=*/true);
  ASSERT_TRUE(savepoint.ok()) << savepoint.status();
  EXPECT_TRUE((*savepoint)->properties.is_synchronous_savepoint());
  const std::set<std::string> savepoint_files = ReferencedPaths(**savepoint);
  const KeyValueMap model = *job->ModelAt((*savepoint)->checkpoint_id);
  // Tasks were told the savepoint completed; the strategies ignore its id (FLINK-23949), so a later checkpoint
  // still builds on checkpoint 1 and never on the savepoint's files.
  std::shared_ptr<const CompletedCheckpoint> next = CheckpointOk(*job);
  ASSERT_NE(next, nullptr);
  EXPECT_GT(SharedFilesReused(*next, *cp1), 0);
  EXPECT_FALSE(ReferencesAnythingUnder(*next, "savepoints/"));
  // The job ends (FINISHED): its checkpoints are deleted, the savepoint is the user's.
  job->Stop(JobStatus::kFinished);
  scheduler_.RunUntilQuiescent();
  EXPECT_THAT(ObjectsUnder("checkpoints/job-1/"), IsEmpty());
  EXPECT_TRUE(AllExist(savepoint_files));
  job.reset();

  SimJobConfig resumed = config;
  resumed.job_id = "job-2";
  resumed.restore_mode = RestoreMode::kNoClaim;
  std::unique_ptr<SimJob> job2 = StartJob(resumed, SimJobRestore{(*savepoint)->external_pointer, model});
  ASSERT_NE(job2, nullptr);
  ExpectRestoredStateIsTheModel(*job2);
  Write(*job2, 0, 30, "c");
  std::shared_ptr<const CompletedCheckpoint> first = CheckpointOk(*job2);
  ASSERT_NE(first, nullptr);
  EXPECT_FALSE(ReferencesAnythingUnder(*first, "savepoints/")) << "NO_CLAIM: the first checkpoint is full";
  job2->Stop(JobStatus::kCanceled);
  scheduler_.RunUntilQuiescent();
  EXPECT_TRUE(AllExist(savepoint_files));
  EXPECT_THAT(ObjectsUnder("checkpoints/job-2/"), IsEmpty()) << "never retained: deleted on cancellation";
}

TEST_F(CheckpointLifecycleTest, CanonicalSavepointResumesAtAnotherParallelismInEveryMode) {
  SimJobConfig config;
  config.parallelism = 2;
  std::unique_ptr<SimJob> job = StartJob(config);
  ASSERT_NE(job, nullptr);
  Write(*job, 0, 300, "a");
  CheckpointCoordinator::Result savepoint = job->Savepoint(SavepointFormat::kCanonical);
  ASSERT_TRUE(savepoint.ok()) << savepoint.status();
  const KeyValueMap model = *job->ModelAt((*savepoint)->checkpoint_id);
  const std::set<std::string> savepoint_files = ReferencedPaths(**savepoint);
  ASSERT_EQ((*savepoint)->Handles().size(), 2u);
  for (const KeyedStateHandle* state : (*savepoint)->Handles()) {
    EXPECT_TRUE(std::holds_alternative<KeyGroupsStateHandle>(*state));
  }
  job->Stop(JobStatus::kCanceled);
  job.reset();
  int generation = 2;
  for (RestoreMode mode : {RestoreMode::kNoClaim, RestoreMode::kLegacy}) {
    for (bool incremental : {true, false}) {
      SimJobConfig resumed = config;
      resumed.job_id = absl::StrCat("job-", generation++);
      resumed.parallelism = 3;
      resumed.incremental = incremental;
      resumed.restore_mode = mode;
      std::unique_ptr<SimJob> next = StartJob(resumed, SimJobRestore{(*savepoint)->external_pointer, model});
      ASSERT_NE(next, nullptr);
      ExpectRestoredStateIsTheModel(*next);
      EXPECT_EQ(next->Model().size(), 300u);
      Write(*next, 290, 310, "b");
      ASSERT_NE(CheckpointOk(*next), nullptr);
      FailoverAndVerifyModel(*next);
      next->Stop(JobStatus::kCanceled);
      next.reset();
      EXPECT_TRUE(AllExist(savepoint_files)) << RestoreModeName(mode);
    }
  }
}

TEST_F(CheckpointLifecycleTest, CoordinatorFailoverWithCheckpointInFlightRecoversTheStoreFromStorage) {
  SimJobConfig config;
  config.max_concurrent_checkpoints = 2;
  config.num_retained = 2;
  std::unique_ptr<SimJob> job = StartJob(config);
  ASSERT_NE(job, nullptr);
  Write(*job, 0, 200, "a");
  std::shared_ptr<const CompletedCheckpoint> cp1 = CheckpointOk(*job);
  ASSERT_NE(cp1, nullptr);
  Write(*job, 200, 300, "b");
  std::shared_ptr<const CompletedCheckpoint> cp2 = CheckpointOk(*job);
  ASSERT_NE(cp2, nullptr);
  Write(*job, 300, 400, "c");
  // Two checkpoints in flight when the coordinator dies.
  Future<CheckpointCoordinator::Result> in_flight_a = job->coordinator().TriggerCheckpoint();
  Future<CheckpointCoordinator::Result> in_flight_b = job->coordinator().TriggerCheckpoint();
  scheduler_.SleepForMicros(3000);
  EXPECT_FALSE(job->coordinator().PendingCheckpointIds().empty());
  std::set<std::string> at_kill = ObjectsUnder(job->checkpoint_root() + "/");
  const std::set<std::string> referenced_at_kill = job->ReferencedPaths();
  ASSERT_TRUE(job->FailoverCoordinator().ok());
  EXPECT_FALSE(in_flight_a.Get().ok());
  EXPECT_FALSE(in_flight_b.Get().ok());
  // The new coordinator found both retained checkpoints and restored the latest.
  const auto retained = job->coordinator().RetainedCheckpoints();
  ASSERT_EQ(retained.size(), 2u);
  EXPECT_EQ(retained[0]->checkpoint_id, cp1->checkpoint_id);
  EXPECT_EQ(retained[1]->checkpoint_id, cp2->checkpoint_id);
  EXPECT_EQ(job->Model(), *job->ModelAt(cp2->checkpoint_id));
  ExpectRestoredStateIsTheModel(*job);
  // Ids are never reused.
  Write(*job, 400, 420, "d");
  std::shared_ptr<const CompletedCheckpoint> cp3 = CheckpointOk(*job);
  ASSERT_NE(cp3, nullptr);
  EXPECT_GT(cp3->checkpoint_id, cp2->checkpoint_id + 2);
  EXPECT_GT(SharedFilesReused(*cp3, *cp2), 0) << "the restored backends continue their lineage";
  std::shared_ptr<const CompletedCheckpoint> cp4 = CheckpointOk(*job);
  ASSERT_NE(cp4, nullptr);
  scheduler_.RunUntilQuiescent();
  // Left over: only what the dead coordinator's in-flight checkpoints had written before it died (Flink leaves
  // these too: no one knows of them). Everything the new coordinator's checkpoints wrote and stopped using is gone.
  const std::set<std::string> referenced = job->ReferencedPaths();
  for (const std::string& path : ObjectsUnder(job->checkpoint_root() + "/")) {
    if (referenced.count(path) > 0) continue;
    EXPECT_TRUE(at_kill.count(path) > 0 && referenced_at_kill.count(path) == 0) << "leaked: " << path;
  }
  FailoverAndVerifyModel(*job);
}

TEST_F(CheckpointLifecycleTest, CorruptMetadataFailsCoordinatorRecoveryNamingTheFileAndDeletesNothing) {
  SimJobConfig config;
  std::unique_ptr<SimJob> job = StartJob(config);
  ASSERT_NE(job, nullptr);
  Write(*job, 0, 100, "a");
  std::shared_ptr<const CompletedCheckpoint> cp1 = CheckpointOk(*job);
  ASSERT_NE(cp1, nullptr);
  scheduler_.RunUntilQuiescent();
  // Flip one byte of the metadata in storage.
  const std::string metadata = cp1->metadata_path();
  std::string bytes = *store_.Read(metadata);
  bytes[bytes.size() / 2] ^= 0x20;
  ASSERT_TRUE(store_.Delete(metadata).ok());
  auto stream = store_.Create(metadata);
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->Write(bytes).ok());
  ASSERT_TRUE((*stream)->Finish().ok());
  const std::set<std::string> before = ObjectsUnder("checkpoints/");

  absl::Status status = job->FailoverCoordinator();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(metadata));
  EXPECT_THAT(status.message(), HasSubstr("checksum"));
  scheduler_.RunUntilQuiescent();
  EXPECT_EQ(ObjectsUnder("checkpoints/"), before);

  // Resuming a job from a path without metadata is an error naming the path.
  SimJobConfig other;
  other.job_id = "job-2";
  absl::StatusOr<std::unique_ptr<SimJob>> resumed =
      SimJob::Start(other, &scheduler_, &store_, Prng(7), SimJobRestore{"checkpoints/job-1/chk-999", {}});
  ASSERT_FALSE(resumed.ok());
  EXPECT_THAT(resumed.status().message(), HasSubstr("checkpoints/job-1/chk-999/_metadata"));
  EXPECT_EQ(ObjectsUnder("checkpoints/"), before);
}

TEST_F(CheckpointLifecycleTest, ClaimedIncrementalCheckpointResumedAtAnotherParallelismIsDeletedOnceUnused) {
  SimJobConfig config;
  config.parallelism = 2;
  config.retention = CheckpointRetention::kRetainOnCancellation;
  std::unique_ptr<SimJob> job = StartJob(config);
  ASSERT_NE(job, nullptr);
  Write(*job, 0, 300, "a");
  std::shared_ptr<const CompletedCheckpoint> cp = CheckpointOk(*job);
  ASSERT_NE(cp, nullptr);
  const Retained retained = CancelRetaining(job, *cp);
  const std::set<std::string>& files = retained.files;
  const KeyValueMap& model = retained.model;

  SimJobConfig rescaled = config;
  rescaled.job_id = "job-2";
  rescaled.parallelism = 3;
  rescaled.restore_mode = RestoreMode::kClaim;
  std::unique_ptr<SimJob> job2 = StartJob(rescaled, SimJobRestore{cp->external_pointer, model});
  ASSERT_NE(job2, nullptr);
  ExpectRestoredStateIsTheModel(*job2);
  // Each new subtask holds exactly its key groups: state clipped away from the base is gone.
  for (int i = 0; i < 3; ++i) {
    absl::Status status = job2->task(i)->backend().ForEachEntry(
        "value", KeyGroupRange(0, rescaled.max_parallelism - 1), [&](const StateEntry& entry) {
          EXPECT_TRUE(job2->task(i)->backend().key_group_range().Contains(
              AssignKeyToKeyGroup(entry.key.key, rescaled.max_parallelism)))
              << entry.key.key << " in subtask " << i;
          return true;
        });
    ASSERT_TRUE(status.ok()) << status;
  }
  Write(*job2, 290, 310, "b");
  std::shared_ptr<const CompletedCheckpoint> after = CheckpointOk(*job2);
  ASSERT_NE(after, nullptr);
  // A rescaled backend starts a new lineage: nothing of the old job is referenced, so the claimed checkpoint goes.
  EXPECT_FALSE(ReferencesAnythingUnder(*after, "checkpoints/job-1/"));
  scheduler_.RunUntilQuiescent();
  EXPECT_TRUE(NoneExist(files));
  EXPECT_THAT(ObjectsUnder("checkpoints/job-1/"), IsEmpty());
  FailoverAndVerifyModel(*job2);
  ExpectOnlyReferencedFiles(*job2);
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
  for (const KeyedStateHandle* state : later.Handles()) {
    if (const auto* handle = std::get_if<IncrementalRemoteKeyedStateHandle>(state)) {
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
  const Retained retained1 = CancelRetaining(job1, *cp1);
  const std::set<std::string>& files1 = retained1.files;
  const KeyValueMap& model1 = retained1.model;

  // 2. Resume incremental from job 1's checkpoint.
  std::unique_ptr<SimJob> job2 =
      StartJob(Config("job-2", /*incremental=*/true), SimJobRestore{retained1.pointer, model1});
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
  const Retained retained2 = CancelRetaining(job2, *cp2b);
  const std::set<std::string>& files2 = retained2.files;

  // 3. Resume native full from job 2's incremental checkpoint.
  std::unique_ptr<SimJob> job3 =
      StartJob(Config("job-3", /*incremental=*/false), SimJobRestore{retained2.pointer, retained2.model});
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
  CancelRetaining(job3, *job3->coordinator().RetainedCheckpoints().back());
}

INSTANTIATE_TEST_SUITE_P(AllModes, ResumeCheckpointManuallyTest,
                         ::testing::Values(ResumeCase{RestoreMode::kClaim, false},
                                           ResumeCase{RestoreMode::kClaim, true},
                                           ResumeCase{RestoreMode::kNoClaim, false},
                                           ResumeCase{RestoreMode::kNoClaim, true},
                                           ResumeCase{RestoreMode::kLegacy, false},
                                           ResumeCase{RestoreMode::kLegacy, true}),
                         CaseName);


struct FaultCase {
  int max_concurrent;
  uint64_t seed;
};

class LossyMessagesTest : public ::testing::TestWithParam<FaultCase> {};

// Periodic checkpoints, 1 to 3 at once, while triggers, acknowledgements and notifications are lost or
// duplicated, with a task failover, a machine crash and a coordinator failover in between. Every restore gives
// the model's state at the restored checkpoint; once messages flow again a checkpoint completes; at quiescence
// storage holds only referenced files, apart from what the dead coordinator's in-flight checkpoints wrote.
TEST_P(LossyMessagesTest, CheckpointsStayRestorableAndStorageClean) {
  const FaultCase param = GetParam();
  SimScheduler scheduler(param.seed);
  SimObjectStore store(&scheduler, Prng(param.seed).Child("store"));
  SimJobConfig config;
  config.parallelism = 2;
  config.incremental = param.seed % 2 == 1;
  config.local_recovery = param.seed % 4 < 2;
  config.checkpoint_interval_micros = 40'000;
  config.checkpoint_timeout_micros = 500'000;
  config.max_concurrent_checkpoints = param.max_concurrent;
  config.num_retained = 2;
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string repro =
      absl::StrCat("max_concurrent=", param.max_concurrent, " seed=", param.seed, "; reproduce: bazel test ",
                   "//tests:checkpoint_lifecycle_test --test_filter='", info->test_suite_name(), ".", info->name(), "'");
  absl::StatusOr<std::unique_ptr<SimJob>> started = SimJob::Start(config, &scheduler, &store, Prng(param.seed));
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<SimJob> job = *std::move(started);
  Prng faults = Prng(param.seed).Child("message-faults");
  int dropped = 0;
  job->SetMessageFaultHook([&](const Message& message) {
    const uint64_t roll = faults.UniformBelow(100);
    if (roll < 12 && message.kind != MessageKind::kAcknowledge) {
      ++dropped;
      return MessageFate::kDrop;
    }
    return roll < 24 ? MessageFate::kDuplicate : MessageFate::kDeliver;
  });
  auto verify = [&](const char* after) {
    absl::StatusOr<KeyValueMap> actual = job->ActualState();
    ASSERT_TRUE(actual.ok()) << actual.status() << " after " << after << "; " << repro;
    EXPECT_EQ(*actual, job->Model()) << "after " << after << "; " << repro;
  };
  for (int round = 0; round < 24; ++round) {
    for (int i = 0; i < 15; ++i) {
      ASSERT_TRUE(job->Put(absl::StrCat("key-", (round * 7 + i * 13) % 150), absl::StrCat("r", round)).ok());
    }
    ASSERT_TRUE(job->Flush().ok());
    scheduler.SleepForMicros(25'000);
    if (round == 8) {
      ASSERT_TRUE(job->FailoverTasks().ok()) << repro;
      verify("task failover");
    } else if (round == 14) {
      ASSERT_TRUE(job->CrashMachine(1).ok()) << repro;
      verify("machine crash");
    } else if (round == 19) {
      ASSERT_TRUE(job->FailoverCoordinator().ok()) << repro;
      verify("coordinator failover");
    }
  }
  EXPECT_GT(dropped, 0);
  // Liveness: with messages flowing again, a checkpoint completes.
  job->SetMessageFaultHook(nullptr);
  bool completed = false;
  for (int attempt = 0; attempt < 5 && !completed; ++attempt) {
    CheckpointCoordinator::Result result = job->Checkpoint();
    completed = result.ok();
    if (!completed) std::cerr << "checkpoint attempt " << attempt << ": " << result.status() << "\n";
  }
  EXPECT_TRUE(completed) << repro;
  job->coordinator().StopCheckpointScheduler();
  scheduler.RunUntilQuiescent();
  const std::set<std::string> referenced = job->ReferencedPaths();
  for (const std::string& path : store.AllPaths()) {
    if (!absl::StartsWith(path, job->checkpoint_root() + "/") || referenced.count(path) > 0) continue;
    if (job->AcceptedOrphans().count(path) > 0) continue;
    ADD_FAILURE() << "leaked: " << path << "; " << repro;
  }
  for (const std::string& path : referenced) EXPECT_TRUE(store.Exists(path).value_or(false)) << path << "; " << repro;
  ASSERT_TRUE(job->FailoverTasks().ok()) << repro;
  verify("final failover");
}

std::vector<FaultCase> FaultCases() {
  std::vector<FaultCase> cases;
  for (int max_concurrent = 1; max_concurrent <= 3; ++max_concurrent) {
    for (uint64_t seed = 1; seed <= 4; ++seed) cases.push_back(FaultCase{max_concurrent, seed});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Swarm, LossyMessagesTest, ::testing::ValuesIn(FaultCases()),
                         [](const ::testing::TestParamInfo<FaultCase>& info) {
                           return absl::StrCat("MaxConcurrent", info.param.max_concurrent, "_Seed", info.param.seed);
                         });

}  // namespace
}  // namespace snapsim
