// A task of chained keyed operators (issue #13, part 2), on the simulated world: one backend per operator with its
// own UID, snapshotted by one trigger, acknowledged together, local copies in one chk_<id> directory each under its
// UID (FLINK-12296), restored together; a failure of one operator's snapshot leaves nothing of the others'. And the
// task-local store persisted on the machine's disk (part 4): reloaded by a task manager restarted on the same disk,
// pruned to the restored checkpoint, disposed at the job's end; a snapshot it cannot persist fails.
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
#include "backend/local_files.h"
#include "sim/sim_machine.h"
#include "sim/sim_object_store.h"
#include "sim/sim_scheduler.h"
#include "snapshot/checkpoint_stream_factory.h"
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
        local_store_(machine_.env(), kLocalDirectory) {}

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

TEST_F(KeyedStateTaskTest, ATaskManagerRestartedOnItsDiskReloadsItsLocalSnapshotsAndRestoresFromThem) {
  KeyedStateTask& task = Start(Config(2, "attempt-1"), std::nullopt, &local_store_);
  std::vector<std::map<std::string, std::string>> expected;
  for (int op = 0; op < 2; ++op) Write(task, op, 0, 30);
  absl::StatusOr<TaskSnapshot> first = Snapshot(task, 1);
  ASSERT_TRUE(first.ok()) << first.status();
  for (int op = 0; op < 2; ++op) {
    Write(task, op, 30, 60 + op);
    expected.push_back(Dump(task, op));
  }
  absl::StatusOr<TaskSnapshot> second = Snapshot(task, 2);
  ASSERT_TRUE(second.ok()) << second.status();
  scheduler_.RunUntilQuiescent();
  const std::optional<TaskLocalSnapshot> stored = local_store_.Retrieve(2);
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(machine_.file_system()->Exists(
      absl::StrCat(kLocalDirectory, "/chk_2/", TaskLocalStateStore::kSnapshotFileName)));

  // The process dies (its task is never closed) and a new one starts on the same disk.
  machine_.RestartProcess();
  TaskLocalStateStore reloaded(machine_.env(), kLocalDirectory);
  EXPECT_EQ(reloaded.Reload(), 2);
  EXPECT_FALSE(reloaded.Peek(2).has_value()) << "read when retrieved, not before";
  TaskRestoreState restore;
  restore.checkpoint_id = 2;
  for (int op = 0; op < 2; ++op) restore.operator_handles.push_back({*second->handles[op]});
  store_.SetFaultHook([](const ObjectStoreOperation& operation) {
    if (operation.kind == ObjectStoreOperationKind::kRead) return absl::UnavailableError("no downloads expected");
    return absl::OkStatus();
  });
  KeyedStateTaskConfig config = Config(2, "attempt-2");
  config.backend.env = machine_.env();
  KeyedStateTask& restored = Start(config, restore, &reloaded);
  store_.SetFaultHook(nullptr);
  for (int op = 0; op < 2; ++op) {
    EXPECT_TRUE(restored.restored_from_local_state(op)) << restored.local_restore_error(op);
    EXPECT_EQ(Dump(restored, op), expected[op]) << "operator " << op;
  }
  EXPECT_EQ(reloaded.Retrieve(2), stored) << "the persisted snapshot is the stored one";
  // Restoring checkpoint 2 pruned every other local snapshot, the reloaded-but-unread one included.
  EXPECT_EQ(reloaded.StoredCheckpoints(), std::vector<int64_t>{2});
  EXPECT_FALSE(machine_.file_system()->Exists(absl::StrCat(kLocalDirectory, "/chk_1")));

  // The job ends: the store is disposed with the subtask's directory; a late snapshot is discarded, not kept.
  ASSERT_TRUE(restored.Close().ok());
  reloaded.Dispose();
  EXPECT_THAT(machine_.file_system()->ListFilesRecursively(kLocalDirectory), IsEmpty());
  EXPECT_TRUE(reloaded.Store(3, *stored).ok());
  EXPECT_THAT(reloaded.StoredCheckpoints(), IsEmpty());
}

TEST_F(KeyedStateTaskTest, AnUnreadableReloadedSnapshotIsDeletedAndTheTaskRestoresFromStorage) {
  KeyedStateTask& task = Start(Config(1, "attempt-1"), std::nullopt, &local_store_);
  Write(task, 0, 0, 40);
  const std::map<std::string, std::string> expected = Dump(task, 0);
  absl::StatusOr<TaskSnapshot> snapshot = Snapshot(task, 1);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  scheduler_.RunUntilQuiescent();
  const std::string file = absl::StrCat(kLocalDirectory, "/chk_1/", TaskLocalStateStore::kSnapshotFileName);
  // A leftover of a dead process: a chk_ directory without a snapshot file.
  ASSERT_TRUE(CreateDirectories(machine_.env(), absl::StrCat(kLocalDirectory, "/chk_7/half-copied")).ok());
  ASSERT_TRUE(machine_.file_system()->CorruptFile(file, 77).ok());

  machine_.RestartProcess();
  TaskLocalStateStore reloaded(machine_.env(), kLocalDirectory);
  EXPECT_EQ(reloaded.Reload(), 2);
  absl::Status error;
  EXPECT_FALSE(reloaded.Retrieve(7, &error).has_value());
  EXPECT_THAT(std::string(error.message()), HasSubstr("chk_7/_task_state_snapshot"));
  EXPECT_FALSE(machine_.file_system()->Exists(absl::StrCat(kLocalDirectory, "/chk_7/half-copied")));

  TaskRestoreState restore;
  restore.checkpoint_id = 1;
  restore.operator_handles.push_back({*snapshot->handles[0]});
  KeyedStateTaskConfig config = Config(1, "attempt-2");
  config.backend.env = machine_.env();
  KeyedStateTask& restored = Start(config, restore, &reloaded);
  EXPECT_FALSE(restored.restored_from_local_state());
  EXPECT_THAT(std::string(restored.local_restore_error().message()), HasSubstr("checksum"));
  EXPECT_THAT(std::string(restored.local_restore_error().message()), HasSubstr(file));
  EXPECT_EQ(Dump(restored, 0), expected);
  EXPECT_THAT(machine_.file_system()->ListFilesRecursively(absl::StrCat(kLocalDirectory, "/chk_1")), IsEmpty());
}

TEST_F(KeyedStateTaskTest, ASnapshotWhoseLocalStateCannotBePersistedFailsAndLeavesNothing) {
  auto hook = std::make_shared<DiskFaultHook>([](const std::string&, const FsOperation& operation) {
    if (absl::StrContains(operation.path, TaskLocalStateStore::kSnapshotFileName)) {
      return rocksdb::IOStatus::IOError("[injected] the snapshot file cannot be written");
    }
    return rocksdb::IOStatus::OK();
  });
  SimMachine faulty(&scheduler_, Prng(8), "tm-0", uint64_t{8} << 30, hook);
  TaskLocalStateStore local_store(faulty.env(), kLocalDirectory);
  KeyedStateTaskConfig config = Config(2, "attempt-1");
  config.backend.env = faulty.env();
  KeyedStateTask& task = Start(config, std::nullopt, &local_store);
  for (int op = 0; op < 2; ++op) Write(task, op, 0, 30);
  absl::StatusOr<TaskSnapshot> snapshot = Snapshot(task, 1);
  ASSERT_FALSE(snapshot.ok());
  EXPECT_THAT(std::string(snapshot.status().message()), HasSubstr("persisting the local state of checkpoint 1"));
  scheduler_.RunUntilQuiescent();
  EXPECT_EQ(task.discarded_snapshots()->Take(1).size(), 2u) << "both operators' parts were discarded";
  EXPECT_THAT(store_.AllPaths(), IsEmpty());
  EXPECT_THAT(local_store.StoredCheckpoints(), IsEmpty());
  EXPECT_THAT(faulty.file_system()->ListFilesRecursively(absl::StrCat(kLocalDirectory, "/chk_1")), IsEmpty());
  ASSERT_TRUE(task.Close().ok());
  tasks_.pop_back();
}

TEST_F(KeyedStateTaskTest, StreamsUnderTheMemoryThresholdStayInlineAndNeverBecomeObjects) {
  auto write = [this](uint64_t threshold, const std::vector<std::string>& chunks) {
    absl::StatusOr<std::unique_ptr<StateOutputStream>> stream =
        StateOutputStream::Create(&store_, absl::StrCat("job/shared/s", threshold, "-", chunks.size()), threshold);
    EXPECT_TRUE(stream.ok()) << stream.status();
    for (const std::string& chunk : chunks) EXPECT_TRUE((*stream)->Write(chunk).ok());
    return (*stream)->CloseAndGetHandle();
  };
  absl::StatusOr<StreamStateHandle> small = write(10, {"abcd", "efghij"});
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_TRUE(small->is_inline());
  EXPECT_EQ(small->data, "abcdefghij");
  EXPECT_THAT(store_.AllPaths(), IsEmpty()) << "inline state never touches storage";
  absl::StatusOr<StreamStateHandle> large = write(10, {"abcd", "efghijk"});
  ASSERT_TRUE(large.ok()) << large.status();
  EXPECT_TRUE(large->in_storage());
  EXPECT_EQ(large->size_bytes, 11u);
  EXPECT_EQ(*store_.Read(large->path), "abcdefghijk") << "what was kept in memory leads the object";
  absl::StatusOr<StreamStateHandle> never = write(0, {"a"});
  ASSERT_TRUE(never.ok());
  EXPECT_TRUE(never->in_storage()) << "threshold 0: always an object";

  absl::StatusOr<std::unique_ptr<StateOutputStream>> cancelled = StateOutputStream::Create(&store_, "job/shared/c", 10);
  ASSERT_TRUE(cancelled.ok());
  ASSERT_TRUE((*cancelled)->Write("abc").ok());
  (*cancelled)->Cancel();
  EXPECT_EQ((*cancelled)->CloseAndGetHandle().status().code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(*store_.Exists("job/shared/c"));
}

TEST_F(KeyedStateTaskTest, ASnapshotUnderAMemoryThresholdCarriesSmallFilesInlineAndRestoresFromThem) {
  KeyedStateTaskConfig config = Config(2, "attempt-1", /*local_recovery=*/false);
  config.memory_threshold = 2048;
  KeyedStateTask& task = Start(config, std::nullopt, nullptr);
  Write(task, 0, 0, 5);     // a small SST: inline
  Write(task, 1, 0, 400);   // a larger one: an object
  std::vector<std::map<std::string, std::string>> expected = {Dump(task, 0), Dump(task, 1)};
  absl::StatusOr<TaskSnapshot> snapshot = Snapshot(task, 1);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  int inline_files = 0;
  int objects = 0;
  TaskRestoreState restore;
  restore.checkpoint_id = 1;
  for (const auto& state : snapshot->handles) {
    ASSERT_TRUE(state.has_value());
    const auto& handle = std::get<IncrementalRemoteKeyedStateHandle>(*state);
    for (const auto* files : {&handle.shared_state, &handle.private_state}) {
      for (const HandleAndLocalPath& file : *files) {
        EXPECT_EQ(*store_.Exists(file.handle.path), file.handle.in_storage()) << file.local_path;
        if (file.handle.is_inline()) {
          ++inline_files;
          EXPECT_LE(file.handle.size_bytes, 2048u);
        } else {
          ++objects;
          EXPECT_GT(file.handle.size_bytes, 2048u) << file.local_path;
        }
      }
    }
    restore.operator_handles.push_back({*state});
  }
  EXPECT_GT(inline_files, 0);
  EXPECT_GT(objects, 0);
  ASSERT_TRUE(task.Close().ok());
  // The restore reads only the objects; inline state comes with the handles.
  int reads = 0;
  store_.SetFaultHook([&reads](const ObjectStoreOperation& operation) {
    if (operation.kind == ObjectStoreOperationKind::kRead) ++reads;
    return absl::OkStatus();
  });
  KeyedStateTask& restored = Start(Config(2, "attempt-2", /*local_recovery=*/false), restore, nullptr);
  store_.SetFaultHook(nullptr);
  EXPECT_EQ(reads, objects);
  for (int op = 0; op < 2; ++op) EXPECT_EQ(Dump(restored, op), expected[op]) << "operator " << op;
}

TEST(TaskLocalSnapshotTest, APersistedSnapshotRoundTripsAndAForeignOrCorruptOneIsRefused) {
  IncrementalLocalKeyedStateHandle handle;
  handle.backend_uid = "uid-1";
  handle.checkpoint_id = 4;
  handle.directory = "/tm-0/l/chk_4/uid1";
  handle.key_group_range = KeyGroupRange(0, 63);
  handle.local_meta_path = "/tm-0/l/chk_4/meta";
  handle.shared_state.push_back(HandleAndLocalPath{StreamStateHandle{}, "000009.sst"});
  handle.shared_state.back().handle.path = "job/shared/x";
  TaskLocalSnapshot snapshot{{0, handle}, {2, handle}};
  snapshot[2].directory = "/tm-0/l/chk_4/uid2";
  const std::string blob = SerializeTaskLocalSnapshot(snapshot);
  absl::StatusOr<TaskLocalSnapshot> parsed = ParseTaskLocalSnapshot(blob, "f", "/tm-0/l/chk_4");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, snapshot);

  // A snapshot of another directory would make pruning delete what is not the store's.
  absl::StatusOr<TaskLocalSnapshot> foreign = ParseTaskLocalSnapshot(blob, "f", "/tm-0/l/chk_5");
  ASSERT_FALSE(foreign.ok());
  EXPECT_THAT(std::string(foreign.status().message()), HasSubstr("not inside /tm-0/l/chk_5"));
  snapshot[0].directory = "/tm-0/l/chk_4/../../etc";
  EXPECT_FALSE(ParseTaskLocalSnapshot(SerializeTaskLocalSnapshot(snapshot), "f", "/tm-0/l/chk_4").ok());
  for (size_t cut = 0; cut < blob.size(); ++cut) {
    absl::StatusOr<TaskLocalSnapshot> truncated = ParseTaskLocalSnapshot(blob.substr(0, cut), "file f", "/tm-0/l/chk_4");
    ASSERT_FALSE(truncated.ok()) << cut;
    EXPECT_THAT(std::string(truncated.status().message()), HasSubstr("file f")) << cut;
  }
}

}  // namespace
}  // namespace snapsim
