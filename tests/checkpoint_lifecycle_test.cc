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

}  // namespace
}  // namespace snapsim
