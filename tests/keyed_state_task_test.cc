// A task of chained keyed operators (issue #13, part 2), on the simulated world: one backend per operator with its
// own UID, snapshotted by one trigger, acknowledged together, local copies in one chk_<id> directory each under its
// UID (FLINK-12296), restored together; a failure of one operator's snapshot leaves nothing of the others'.
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sim/sim_machine.h"
#include "sim/sim_object_store.h"
#include "sim/sim_scheduler.h"
#include "snapshot/keyed_state_task.h"

namespace snapsim {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kLocalDirectory[] = "/tm-0/localState/job-1/sti_0";

class KeyedStateTaskTest : public ::testing::Test {
 protected:
  KeyedStateTaskTest()
      : scheduler_(7), machine_(&scheduler_, Prng(7), "tm-0"), store_(&scheduler_, Prng(7).Child("store")),
        local_store_(machine_.env()) {}

  ~KeyedStateTaskTest() override {
    for (auto& task : tasks_) (void)task->Close();
    tasks_.clear();
    scheduler_.RunUntilQuiescent();
  }

  KeyedStateTaskConfig Config(int operators, const std::string& instance, bool local_recovery = true) {
    KeyedStateTaskConfig config;
    config.backend.env = machine_.env();
    config.backend.instance_path = "/tm-0/" + instance;
    config.backend.preset = OptionsPreset::kSimulation;
    config.operators = operators;
    config.local_recovery.enabled = local_recovery;
    config.local_recovery.subtask_directory = kLocalDirectory;
    config.upload_threads = 2;
    return config;
  }

  KeyedStateTask& Start(const KeyedStateTaskConfig& config, const std::optional<TaskRestoreState>& restore,
                        TaskLocalStateStore* local_store) {
    absl::StatusOr<std::unique_ptr<KeyedStateTask>> task =
        KeyedStateTask::Start(config, &scheduler_, &store_, local_store, restore);
    EXPECT_TRUE(task.ok()) << task.status();
    tasks_.push_back(*std::move(task));
    KeyedStateTask& started = *tasks_.back();
    for (int op = 0; op < started.operators(); ++op) {
      EXPECT_TRUE(started.backend(op).RegisterState("count", StateKind::kValue).ok());
    }
    return started;
  }

  // Operator `op` counts keys [from, to) with its own tag.
  void Write(KeyedStateTask& task, int op, int from, int to) {
    for (int i = from; i < to; ++i) {
      ASSERT_TRUE(task.backend(op).SetCurrentKey(absl::StrCat("key-", i)).ok());
      ASSERT_TRUE(task.backend(op).PutValue("count", absl::StrCat("op", op, "-", i)).ok());
    }
    ASSERT_TRUE(task.backend(op).Flush().ok());
  }

  std::map<std::string, std::string> Dump(KeyedStateTask& task, int op) {
    std::map<std::string, std::string> contents;
    EXPECT_TRUE(task.backend(op)
                    .ForEachEntry("count", KeyGroupRange(0, 127),
                                  [&](const StateEntry& entry) {
                                    contents[entry.key.key] = entry.value;
                                    return true;
                                  })
                    .ok());
    return contents;
  }

  CheckpointOptions Checkpoint(int64_t id) {
    CheckpointOptions options;
    options.shared_directory = "job-1/shared";
    options.exclusive_directory = absl::StrCat("job-1/chk-", id);
    return options;
  }

  absl::StatusOr<TaskSnapshot> Snapshot(KeyedStateTask& task, int64_t id) {
    absl::StatusOr<KeyedStateTask::SnapshotFuture> future = task.TriggerSnapshot(id, Checkpoint(id));
    if (!future.ok()) return future.status();
    return future->Get();
  }

  SimScheduler scheduler_;
  SimMachine machine_;
  SimObjectStore store_;
  TaskLocalStateStore local_store_;
  std::vector<std::unique_ptr<KeyedStateTask>> tasks_;
};

TEST_F(KeyedStateTaskTest, ChainedOperatorsSnapshotTogetherIntoTheirOwnLocalDirectoriesAndRestoreTogether) {
  KeyedStateTask& task = Start(Config(3, "attempt-1"), std::nullopt, &local_store_);
  std::set<std::string> uids;
  for (int op = 0; op < 3; ++op) uids.insert(task.backend_uid(op));
  EXPECT_EQ(uids.size(), 3u) << "every operator's backend has a UID of its own";
  EXPECT_NE(task.backend(0).config().instance_path, task.backend(1).config().instance_path);
  std::vector<std::map<std::string, std::string>> expected;
  for (int op = 0; op < 3; ++op) {
    Write(task, op, 0, 50 + 10 * op);
    expected.push_back(Dump(task, op));
  }
  absl::StatusOr<TaskSnapshot> snapshot = Snapshot(task, 1);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_EQ(snapshot->handles.size(), 3u);
  TaskRestoreState restore;
  restore.checkpoint_id = 1;
  for (int op = 0; op < 3; ++op) {
    ASSERT_TRUE(snapshot->handles[op].has_value());
    const auto& handle = std::get<IncrementalRemoteKeyedStateHandle>(*snapshot->handles[op]);
    EXPECT_EQ(handle.backend_uid, task.backend_uid(op));
    restore.operator_handles.push_back({*snapshot->handles[op]});
  }
  // One local snapshot for the task: each operator's copy in chk_1, in a directory named by its UID.
  std::optional<TaskLocalSnapshot> local = local_store_.Retrieve(1);
  ASSERT_TRUE(local.has_value());
  ASSERT_EQ(local->size(), 3u);
  std::set<std::string> directories;
  for (const auto& [op, handle] : *local) {
    std::string uid = task.backend_uid(op);
    uid.erase(std::remove(uid.begin(), uid.end(), '-'), uid.end());
    EXPECT_EQ(handle.directory, absl::StrCat(kLocalDirectory, "/chk_1/", uid));
    EXPECT_TRUE(machine_.file_system()->Exists(handle.directory));
    directories.insert(handle.directory);
  }
  EXPECT_EQ(directories.size(), 3u);
  ASSERT_TRUE(task.Close().ok());

  // From the local copies: no download at all.
  store_.SetFaultHook([](const ObjectStoreOperation& operation) {
    if (operation.kind == ObjectStoreOperationKind::kRead) return absl::UnavailableError("no downloads expected");
    return absl::OkStatus();
  });
  KeyedStateTask& local_restore = Start(Config(3, "attempt-2"), restore, &local_store_);
  for (int op = 0; op < 3; ++op) {
    EXPECT_TRUE(local_restore.restored_from_local_state(op)) << "operator " << op;
    EXPECT_EQ(local_restore.backend_uid(op), task.backend_uid(op)) << "the restored lineage continues";
    EXPECT_EQ(Dump(local_restore, op), expected[op]) << "operator " << op;
  }
  ASSERT_TRUE(local_restore.Close().ok());
  store_.SetFaultHook(nullptr);

  // From storage, into a task that chains one more operator: the new one starts empty.
  KeyedStateTask& remote_restore = Start(Config(4, "attempt-3", /*local_recovery=*/false), restore, nullptr);
  for (int op = 0; op < 3; ++op) {
    EXPECT_FALSE(remote_restore.restored_from_local_state(op));
    EXPECT_EQ(Dump(remote_restore, op), expected[op]) << "operator " << op;
  }
  EXPECT_THAT(Dump(remote_restore, 3), IsEmpty());

  // Confirming a later checkpoint deletes the whole chk_1 directory.
  local_store_.ConfirmCheckpoint(2);
  EXPECT_FALSE(machine_.file_system()->Exists(absl::StrCat(kLocalDirectory, "/chk_1")));
}

TEST_F(KeyedStateTaskTest, RestoreStateForMoreOperatorsThanTheTaskChainsIsRefused) {
  TaskRestoreState restore;
  restore.checkpoint_id = 1;
  restore.operator_handles.resize(3);
  absl::StatusOr<std::unique_ptr<KeyedStateTask>> task =
      KeyedStateTask::Start(Config(2, "attempt-1"), &scheduler_, &store_, &local_store_, restore);
  ASSERT_FALSE(task.ok());
  EXPECT_THAT(std::string(task.status().message()), HasSubstr("restore state for 3 operators"));
}

TEST_F(KeyedStateTaskTest, AFailedOperatorSnapshotLeavesNothingOfTheOthers) {
  // Whichever object write fails (the K-th of the snapshot), the task's snapshot fails and nothing of it stays:
  // no object in storage and no local copy. Some K fail one operator after another finished; those discard it.
  int discarded_runs = 0;
  for (int fail_at = 1;; ++fail_at) {
    const std::string instance = absl::StrCat("fail-at-", fail_at);
    KeyedStateTask& task = Start(Config(2, instance), std::nullopt, &local_store_);
    Write(task, 0, 0, 80);
    Write(task, 1, 0, 5);
    int writes = 0;
    store_.SetFaultHook([&writes, fail_at](const ObjectStoreOperation& operation) {
      if (operation.kind == ObjectStoreOperationKind::kCreate && ++writes == fail_at) {
        return absl::UnavailableError("injected: the K-th create fails");
      }
      return absl::OkStatus();
    });
    const int64_t id = fail_at;
    absl::StatusOr<TaskSnapshot> snapshot = Snapshot(task, id);
    scheduler_.RunUntilQuiescent();
    store_.SetFaultHook(nullptr);
    if (snapshot.ok()) {
      // K is past the snapshot's last write: every K before it failed the snapshot.
      EXPECT_GT(fail_at, 4);
      break;
    }
    EXPECT_THAT(std::string(snapshot.status().message()), HasSubstr("injected")) << "K = " << fail_at;
    EXPECT_THAT(store_.AllPaths(), IsEmpty()) << "K = " << fail_at << ": " << snapshot.status();
    EXPECT_FALSE(local_store_.Retrieve(id).has_value());
    EXPECT_THAT(machine_.file_system()->ListFilesRecursively(absl::StrCat(kLocalDirectory, "/chk_", id)), IsEmpty());
    if (!task.discarded_snapshots()->Take(id).empty()) ++discarded_runs;
    ASSERT_TRUE(task.Close().ok());
    ASSERT_LT(fail_at, 200) << "the snapshot never succeeded";
  }
  EXPECT_GT(discarded_runs, 0) << "no K failed one operator after the other had finished";
}

TEST_F(KeyedStateTaskTest, ALaterOperatorsFailedSynchronousPartAbandonsTheEarlierOnesCleanly) {
  KeyedStateTask& task = Start(Config(3, "attempt-1"), std::nullopt, &local_store_);
  for (int op = 0; op < 3; ++op) Write(task, op, 0, 40);
  ASSERT_TRUE(task.backend(2).Close().ok());  // operator 2's synchronous part will fail
  absl::StatusOr<KeyedStateTask::SnapshotFuture> future = task.TriggerSnapshot(1, Checkpoint(1));
  ASSERT_FALSE(future.ok());
  EXPECT_FALSE(task.failure().ok()) << "a synchronous part failed: the task must fail";
  std::optional<KeyedStateTask::SnapshotFuture> abandoned = task.AbandonedSnapshot(1);
  ASSERT_TRUE(abandoned.has_value()) << "operators 0 and 1 had started: their parts end in a future";
  EXPECT_FALSE(abandoned->Get().ok());
  scheduler_.RunUntilQuiescent();
  EXPECT_THAT(store_.AllPaths(), IsEmpty());
  EXPECT_FALSE(local_store_.Retrieve(1).has_value());
  EXPECT_THAT(machine_.file_system()->ListFilesRecursively(absl::StrCat(kLocalDirectory, "/chk_1")), IsEmpty());
  EXPECT_FALSE(task.AbandonedSnapshot(2).has_value());
}

}  // namespace
}  // namespace snapsim
