// The snapshot strategies and restore, on the simulated world. In the spirit of Flink's
// RocksIncrementalSnapshotStrategyTest, EmbeddedRocksDBStateBackendTest and ResumeCheckpointManuallyITCase.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backend/composite_key.h"
#include "backend/encoding.h"
#include "backend/key_groups.h"
#include "backend/keyed_state_backend.h"
#include "sim/sim_machine.h"
#include "sim/sim_object_store.h"
#include "sim/sim_scheduler.h"
#include "snapshot/canonical_savepoint.h"
#include "snapshot/incremental_restore_operation.h"
#include "snapshot/snapshot_strategies.h"

namespace snapsim {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kCheckpointRoot[] = "job-1";

// Logical contents of a backend: "<state>/<key>/<namespace>/<user key>" -> value (lists decoded and joined).
std::map<std::string, std::string> Dump(KeyedStateBackend& backend) {
  std::map<std::string, std::string> contents;
  for (const StateMetaInfo& info : backend.MetaInfos()) {
    // Every key group, not only the backend's own: state left outside its range must show up.
    const KeyGroupRange all(0, backend.config().max_parallelism - 1);
    const absl::Status status = backend.ForEachEntry(info.name, all, [&](const StateEntry& e) {
      contents[absl::StrCat(info.name, "/", e.key.key, "/", e.key.name_space, "/", e.key.user_key.value_or(""))] =
          e.value;
      return true;
    });
    EXPECT_TRUE(status.ok()) << status;
  }
  return contents;
}

class SnapshotStrategiesTest : public ::testing::Test {
 protected:
  SnapshotStrategiesTest()
      : scheduler_(42), machine_(&scheduler_, Prng(42), "tm-0"), store_(&scheduler_, Prng(42).Child("store")),
        uploader_(&scheduler_, 4) {}

  ~SnapshotStrategiesTest() override {
    strategy_.reset();
    backends_.clear();
    scheduler_.RunUntilQuiescent();
  }

  KeyedStateBackendConfig Config(const std::string& instance) {
    KeyedStateBackendConfig config;
    config.env = machine_.env();
    config.runtime = &scheduler_;
    config.instance_path = "/tm-0/" + instance;
    config.preset = OptionsPreset::kSimulation;
    config.backend_uid = "3f2a-77-backend";
    return config;
  }

  KeyedStateBackend& OpenBackend(const std::string& instance) {
    auto backend = KeyedStateBackend::Open(Config(instance));
    EXPECT_TRUE(backend.ok()) << backend.status();
    backends_.push_back(*std::move(backend));
    return *backends_.back();
  }

  void Write(KeyedStateBackend& backend, int from, int to, const std::string& tag) {
    ASSERT_TRUE(backend.RegisterState("count", StateKind::kValue).ok());
    ASSERT_TRUE(backend.RegisterState("events", StateKind::kList).ok());
    ASSERT_TRUE(backend.RegisterState("attributes", StateKind::kMap).ok());
    for (int i = from; i < to; ++i) {
      ASSERT_TRUE(backend.SetCurrentKey(absl::StrCat("key-", i)).ok());
      ASSERT_TRUE(backend.PutValue("count", absl::StrCat(tag, i)).ok());
      ASSERT_TRUE(backend.AppendToList("events", tag).ok());
      ASSERT_TRUE(backend.PutMapEntry("attributes", tag, absl::StrCat(i)).ok());
    }
    // One flush per batch: each batch becomes its own SST files.
    ASSERT_TRUE(backend.Flush().ok());
  }

  absl::StatusOr<SnapshotResult> Snapshot(SnapshotStrategyBase& strategy, int64_t id,
                                          SnapshotType type = SnapshotType::kCheckpoint) {
    absl::StatusOr<SnapshotRunner::Running> running = SnapshotRunner::Snapshot(
        strategy, scheduler_, id, CheckpointStreamFactory::ForCheckpoint(&store_, &scheduler_, kCheckpointRoot, id),
        type);
    if (!running.ok()) return running.status();
    return running->result.Get();
  }

  std::unique_ptr<IncrementalSnapshotStrategy> Incremental(KeyedStateBackend& backend,
                                                           LocalRecoveryConfig local = {}) {
    return std::make_unique<IncrementalSnapshotStrategy>(&backend, &scheduler_, &uploader_, local,
                                                         backend.config().backend_uid);
  }

  std::unique_ptr<NativeFullSnapshotStrategy> Full(KeyedStateBackend& backend) {
    return std::make_unique<NativeFullSnapshotStrategy>(&backend, &scheduler_, &uploader_, LocalRecoveryConfig{},
                                                        backend.config().backend_uid);
  }

  static int Placeholders(const IncrementalRemoteKeyedStateHandle& handle) {
    int count = 0;
    for (const HandleAndLocalPath& file : handle.shared_state) count += file.handle.is_placeholder() ? 1 : 0;
    return count;
  }

  std::vector<std::string> ObjectsUnder(const std::string& prefix) {
    std::vector<std::string> found;
    for (const std::string& path : store_.AllPaths()) {
      if (absl::StartsWith(path, prefix)) found.push_back(path);
    }
    return found;
  }

  SimScheduler scheduler_;
  SimMachine machine_;
  SimObjectStore store_;
  StateUploader uploader_;
  std::vector<std::unique_ptr<KeyedStateBackend>> backends_;
  std::unique_ptr<SnapshotStrategyBase> strategy_;
};

TEST_F(SnapshotStrategiesTest, SecondIncrementalCheckpointAfterConfirmedFirstReusesUnchangedSsts) {
  KeyedStateBackend& backend = OpenBackend("op");
  auto strategy = Incremental(backend);
  Write(backend, 0, 300, "a");
  absl::StatusOr<SnapshotResult> first = Snapshot(*strategy, 1);
  ASSERT_TRUE(first.ok()) << first.status();
  const IncrementalRemoteKeyedStateHandle& one = *first->remote;
  EXPECT_EQ(Placeholders(one), 0);
  ASSERT_FALSE(one.shared_state.empty());
  for (const HandleAndLocalPath& file : one.shared_state) {
    EXPECT_TRUE(absl::EndsWith(file.local_path, ".sst"));
    EXPECT_TRUE(absl::StartsWith(file.handle.path, "job-1/shared/")) << file.handle.path;
  }
  for (const HandleAndLocalPath& file : one.private_state) EXPECT_FALSE(absl::EndsWith(file.local_path, ".sst"));
  strategy->NotifyCheckpointComplete(1);

  Write(backend, 300, 400, "b");
  const size_t objects_before = store_.AllPaths().size();
  absl::StatusOr<SnapshotResult> second = Snapshot(*strategy, 2);
  ASSERT_TRUE(second.ok()) << second.status();
  const IncrementalRemoteKeyedStateHandle& two = *second->remote;
  // Every SST of checkpoint 1 is still live (no compaction) and is reused; only the new ones are uploaded.
  EXPECT_EQ(Placeholders(two), static_cast<int>(one.shared_state.size()));
  const int new_ssts = static_cast<int>(two.shared_state.size()) - Placeholders(two);
  EXPECT_GT(new_ssts, 0);
  EXPECT_EQ(store_.AllPaths().size() - objects_before, new_ssts + two.private_state.size() + 1 /*metadata*/);
  for (const HandleAndLocalPath& file : two.shared_state) {
    if (!file.handle.is_placeholder()) continue;
    // A placeholder names the confirmed upload it stands for (FLINK-29913).
    bool found = false;
    for (const HandleAndLocalPath& old : one.shared_state) found |= old.handle.path == file.handle.path;
    EXPECT_TRUE(found) << file.local_path;
  }
  EXPECT_LT(two.checkpointed_size_bytes, static_cast<int64_t>(two.StateSize()));
}

TEST_F(SnapshotStrategiesTest, AfterAbortedFirstCheckpointTheSecondReuploadsEverything) {
  KeyedStateBackend& backend = OpenBackend("op");
  auto strategy = Incremental(backend);
  Write(backend, 0, 200, "a");
  ASSERT_TRUE(Snapshot(*strategy, 1).ok());
  strategy->NotifyCheckpointAborted(1);
  EXPECT_THAT(strategy->TrackedCheckpoints(), IsEmpty());
  absl::StatusOr<SnapshotResult> second = Snapshot(*strategy, 2);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Placeholders(*second->remote), 0);
}

TEST_F(SnapshotStrategiesTest, UnconfirmedCheckpointIsNeverReused) {
  KeyedStateBackend& backend = OpenBackend("op");
  auto strategy = Incremental(backend);
  Write(backend, 0, 200, "a");
  ASSERT_TRUE(Snapshot(*strategy, 1).ok());  // no notification: lost or late
  absl::StatusOr<SnapshotResult> second = Snapshot(*strategy, 2);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Placeholders(*second->remote), 0);
  // The late notification for 1 after 2 was confirmed does not move the base back.
  strategy->NotifyCheckpointComplete(2);
  strategy->NotifyCheckpointComplete(1);
  EXPECT_EQ(strategy->last_completed_checkpoint_id(), 2);
}

TEST_F(SnapshotStrategiesTest, SavepointCompletionDoesNotLoseTheBase) {
  KeyedStateBackend& backend = OpenBackend("op");
  auto strategy = Incremental(backend);
  Write(backend, 0, 200, "a");
  absl::StatusOr<SnapshotResult> first = Snapshot(*strategy, 1);
  ASSERT_TRUE(first.ok()) << first.status();
  strategy->NotifyCheckpointComplete(1);
  absl::StatusOr<SnapshotResult> savepoint = Snapshot(*strategy, 2, SnapshotType::kSavepoint);
  ASSERT_TRUE(savepoint.ok()) << savepoint.status();
  // A native savepoint owns all its files (EXCLUSIVE), reuses nothing, yet lists its SSTs as shared state.
  EXPECT_EQ(Placeholders(*savepoint->remote), 0);
  ASSERT_FALSE(savepoint->remote->shared_state.empty());
  for (const HandleAndLocalPath& file : savepoint->remote->shared_state) {
    EXPECT_TRUE(absl::StartsWith(file.handle.path, "job-1/chk-2/")) << file.handle.path;
  }
  strategy->NotifyCheckpointComplete(2);  // unknown to the strategy: ignored (FLINK-23949)
  EXPECT_EQ(strategy->last_completed_checkpoint_id(), 1);
  absl::StatusOr<SnapshotResult> third = Snapshot(*strategy, 3);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(Placeholders(*third->remote), static_cast<int>(first->remote->shared_state.size()));
}

TEST_F(SnapshotStrategiesTest, FullCheckpointUploadsEverythingAsPrivateExclusiveState) {
  KeyedStateBackend& backend = OpenBackend("op");
  auto strategy = Full(backend);
  Write(backend, 0, 200, "a");
  absl::StatusOr<SnapshotResult> result = Snapshot(*strategy, 5);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->remote->shared_state, IsEmpty());
  int ssts = 0;
  for (const HandleAndLocalPath& file : result->remote->private_state) {
    EXPECT_TRUE(absl::StartsWith(file.handle.path, "job-1/chk-5/")) << file.handle.path;
    ssts += absl::EndsWith(file.local_path, ".sst") ? 1 : 0;
  }
  EXPECT_GT(ssts, 0);
  EXPECT_EQ(result->remote->checkpointed_size_bytes, static_cast<int64_t>(result->remote->StateSize()));
}

TEST_F(SnapshotStrategiesTest, EmptyBackendYieldsEmptyResultAndLeavesNoDirectory) {
  KeyedStateBackend& backend = OpenBackend("op");
  for (bool incremental : {true, false}) {
    std::unique_ptr<SnapshotStrategyBase> strategy;
    if (incremental) {
      strategy = Incremental(backend);
    } else {
      strategy = Full(backend);
    }
    absl::StatusOr<SnapshotResult> result = Snapshot(*strategy, 1);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->empty());
    scheduler_.RunUntilQuiescent();
    EXPECT_FALSE(machine_.file_system()->Exists("/tm-0/op/chk-1"));
  }
  EXPECT_THAT(store_.AllPaths(), IsEmpty());
}

// full -> incremental -> full, restoring between each, always gives the state at the checkpoint.
TEST_F(SnapshotStrategiesTest, FullThenIncrementalThenFullWithRestoresBetweenGiveEqualState) {
  KeyedStateBackend* backend = &OpenBackend("run-0");
  Write(*backend, 0, 150, "a");
  int64_t checkpoint_id = 0;
  for (int round = 0; round < 3; ++round) {
    const bool incremental = round == 1;
    std::unique_ptr<SnapshotStrategyBase> strategy;
    if (incremental) {
      strategy = Incremental(*backend);
    } else {
      strategy = Full(*backend);
    }
    const std::map<std::string, std::string> expected = Dump(*backend);
    absl::StatusOr<SnapshotResult> result = Snapshot(*strategy, ++checkpoint_id);
    ASSERT_TRUE(result.ok()) << result.status();
    strategy->NotifyCheckpointComplete(checkpoint_id);
    // Writes after the checkpoint must not appear in the restore.
    Write(*backend, 1000, 1010, "after");
    absl::StatusOr<RestoreResult> restored = RestoreFromRemoteHandle(
        Config(absl::StrCat("run-", round + 1)), scheduler_, store_, *result->remote);
    ASSERT_TRUE(restored.ok()) << restored.status();
    EXPECT_EQ(restored->backend_uid, backend->config().backend_uid);
    EXPECT_EQ(restored->history.last_completed_checkpoint_id, checkpoint_id);
    EXPECT_EQ(restored->history.sst_files.at(checkpoint_id).size(), result->remote->shared_state.size());
    EXPECT_EQ(Dump(*restored->backend), expected) << "round " << round;
    backends_.push_back(std::move(restored->backend));
    backend = backends_.back().get();
    Write(*backend, 150 + round * 50, 200 + round * 50, absl::StrCat("r", round));
  }
}

TEST_F(SnapshotStrategiesTest, RestoredHistoryLetsTheNextIncrementalCheckpointReuseFiles) {
  KeyedStateBackend& backend = OpenBackend("op");
  auto strategy = Incremental(backend);
  Write(backend, 0, 200, "a");
  absl::StatusOr<SnapshotResult> first = Snapshot(*strategy, 1);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<RestoreResult> restored = RestoreFromRemoteHandle(Config("restored"), scheduler_, store_,
                                                                   *first->remote);
  ASSERT_TRUE(restored.ok()) << restored.status();
  KeyedStateBackend& again = *restored->backend;
  IncrementalSnapshotStrategy next(&again, &scheduler_, &uploader_, {}, restored->backend_uid, restored->history);
  absl::StatusOr<SnapshotResult> second = Snapshot(next, 2);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Placeholders(*second->remote), static_cast<int>(first->remote->shared_state.size()));
  backends_.push_back(std::move(restored->backend));
}

TEST_F(SnapshotStrategiesTest, FailedUploadDeletesOnlyWhatThisSnapshotUploaded) {
  KeyedStateBackend& backend = OpenBackend("op");
  auto strategy = Incremental(backend);
  Write(backend, 0, 200, "a");
  ASSERT_TRUE(Snapshot(*strategy, 1).ok());
  strategy->NotifyCheckpointComplete(1);
  const std::vector<std::string> after_first = store_.AllPaths();
  Write(backend, 200, 300, "b");
  int finishes = 0;
  store_.SetFaultHook([&](const ObjectStoreOperation& operation) {
    if (operation.kind == ObjectStoreOperationKind::kFinish && ++finishes == 3) {
      return absl::UnavailableError("injected: upload failed");
    }
    return absl::OkStatus();
  });
  absl::StatusOr<SnapshotResult> failed = Snapshot(*strategy, 2);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr("injected: upload failed"));
  store_.SetFaultHook(nullptr);
  scheduler_.RunUntilQuiescent();
  // Checkpoint 1's files (reused as placeholders by 2) survive; nothing of 2 is left behind.
  EXPECT_EQ(store_.AllPaths(), after_first);
  EXPECT_FALSE(machine_.file_system()->Exists("/tm-0/op/chk-2"));
  // The base is intact: the next checkpoint still reuses checkpoint 1.
  absl::StatusOr<SnapshotResult> third = Snapshot(*strategy, 3);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_GT(Placeholders(*third->remote), 0);
}

TEST_F(SnapshotStrategiesTest, CancelledSnapshotLeavesNothingBehind) {
  KeyedStateBackend& backend = OpenBackend("op");
  auto strategy = Incremental(backend);
  Write(backend, 0, 200, "a");
  absl::StatusOr<SnapshotRunner::Running> running = SnapshotRunner::Snapshot(
      *strategy, scheduler_, 1, CheckpointStreamFactory::ForCheckpoint(&store_, &scheduler_, kCheckpointRoot, 1),
      SnapshotType::kCheckpoint);
  ASSERT_TRUE(running.ok()) << running.status();
  running->Cancel();
  const absl::StatusOr<SnapshotResult>& result = running->result.Get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled) << result.status();
  scheduler_.RunUntilQuiescent();
  EXPECT_THAT(store_.AllPaths(), IsEmpty());
  EXPECT_FALSE(machine_.file_system()->Exists("/tm-0/op/chk-1"));
}

TEST_F(SnapshotStrategiesTest, LocalRecoveryKeepsADirectoryPerBackendAndRestoresWithoutDownloads) {
  KeyedStateBackend& backend = OpenBackend("op");
  LocalRecoveryConfig local{true, "/tm-0/local/jid_1/vtx_1_sti_0"};
  auto strategy = Incremental(backend, local);
  Write(backend, 0, 200, "a");
  const std::map<std::string, std::string> expected = Dump(backend);
  absl::StatusOr<SnapshotResult> result = Snapshot(*strategy, 7);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->local.has_value());
  // The backend UID without '-' names the backend's own directory (two backends never collide).
  EXPECT_EQ(result->local->directory, "/tm-0/local/jid_1/vtx_1_sti_0/chk_7/3f2a77backend");
  EXPECT_TRUE(machine_.file_system()->Exists(result->local->directory));
  store_.SetFaultHook([](const ObjectStoreOperation& operation) {
    if (operation.kind == ObjectStoreOperationKind::kRead) return absl::UnavailableError("no downloads expected");
    return absl::OkStatus();
  });
  absl::StatusOr<RestoreResult> restored = RestoreFromLocalHandle(Config("local-restore"), *result->local);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(Dump(*restored->backend), expected);
  // The local copy is untouched (its owner is the local state store).
  EXPECT_TRUE(machine_.file_system()->Exists(result->local->directory));
  backends_.push_back(std::move(restored->backend));
}

TEST_F(SnapshotStrategiesTest, SnapshotOfAClosedBackendIsDeclinedCleanly) {
  KeyedStateBackend& backend = OpenBackend("op");
  auto strategy = Incremental(backend);
  Write(backend, 0, 50, "a");
  ASSERT_TRUE(backend.Close().ok());
  absl::StatusOr<SnapshotResult> result = Snapshot(*strategy, 1);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition) << result.status();
  EXPECT_FALSE(machine_.file_system()->Exists("/tm-0/op/chk-1"));
  EXPECT_THAT(store_.AllPaths(), IsEmpty());
}

TEST_F(SnapshotStrategiesTest, StaleOrDamagedLocalStateIsNeverRestored) {
  KeyedStateBackend& backend = OpenBackend("op");
  LocalRecoveryConfig local{true, "/tm-0/local/sti_0"};
  auto strategy = Incremental(backend, local);
  Write(backend, 0, 100, "a");
  absl::StatusOr<SnapshotResult> seven = Snapshot(*strategy, 7);
  ASSERT_TRUE(seven.ok()) << seven.status();
  strategy->NotifyCheckpointComplete(7);
  Write(backend, 100, 200, "b");
  const std::map<std::string, std::string> at_eight = Dump(backend);
  absl::StatusOr<SnapshotResult> eight = Snapshot(*strategy, 8);
  ASSERT_TRUE(eight.ok()) << eight.status();

  // The local copy of 7 must not stand in for checkpoint 8.
  bool used_local = true;
  absl::StatusOr<RestoreResult> restored =
      RestoreWithLocalRecovery(Config("r1"), scheduler_, store_, *eight->remote, seven->local, &used_local);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_FALSE(used_local);
  EXPECT_EQ(Dump(*restored->backend), at_eight);
  backends_.push_back(std::move(restored->backend));

  // The matching local copy is used...
  restored = RestoreWithLocalRecovery(Config("r2"), scheduler_, store_, *eight->remote, eight->local, &used_local);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_TRUE(used_local);
  EXPECT_EQ(Dump(*restored->backend), at_eight);
  backends_.push_back(std::move(restored->backend));

  // ...unless a bit of one of its SST files flipped on the local disk (in a data block: RocksDB would open the
  // database and fail the first read of that block, swarm seed 332): the copy is checked against the checksums the
  // checkpoint recorded, and the error names the file.
  std::string sst;
  for (const HandleAndLocalPath& file : eight->remote->shared_state) sst = file.local_path;
  ASSERT_FALSE(sst.empty());
  const std::string local_sst = eight->local->directory + "/" + sst;
  ASSERT_TRUE(machine_.file_system()->CorruptFile(local_sst, 8 * 10).ok());
  absl::Status local_error;
  restored = RestoreWithLocalRecovery(Config("r-corrupt"), scheduler_, store_, *eight->remote, eight->local,
                                      &used_local, &local_error);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_FALSE(used_local);
  EXPECT_THAT(local_error.ToString(), HasSubstr(local_sst));
  EXPECT_THAT(local_error.ToString(), HasSubstr("checksum mismatch"));
  EXPECT_EQ(Dump(*restored->backend), at_eight);
  backends_.push_back(std::move(restored->backend));
  ASSERT_TRUE(machine_.file_system()->CorruptFile(local_sst, 8 * 10).ok());  // flipped back

  // ...or its metadata file is lost: then checkpoint storage.
  ASSERT_TRUE(machine_.env()->DeleteFile(eight->local->local_meta_path).ok());
  restored = RestoreWithLocalRecovery(Config("r3"), scheduler_, store_, *eight->remote, eight->local, &used_local);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_FALSE(used_local);
  EXPECT_EQ(Dump(*restored->backend), at_eight);
  backends_.push_back(std::move(restored->backend));
}

class RestoreBadInputTest : public SnapshotStrategiesTest {
 protected:
  IncrementalRemoteKeyedStateHandle Checkpoint() {
    KeyedStateBackend& backend = OpenBackend("op");
    auto strategy = Full(backend);
    Write(backend, 0, 100, "a");
    absl::StatusOr<SnapshotResult> result = Snapshot(*strategy, 9);
    EXPECT_TRUE(result.ok()) << result.status();
    return *result->remote;
  }

  void ExpectFailsNamingAndLeavesNothing(const IncrementalRemoteKeyedStateHandle& handle,
                                         const std::string& expected_text) {
    absl::StatusOr<RestoreResult> restored = RestoreFromRemoteHandle(Config("target"), scheduler_, store_, handle);
    ASSERT_FALSE(restored.ok());
    EXPECT_THAT(std::string(restored.status().message()), HasSubstr("checkpoint 9"));
    EXPECT_THAT(std::string(restored.status().message()), HasSubstr(expected_text));
    EXPECT_FALSE(machine_.file_system()->Exists("/tm-0/target"));
  }

  void Replace(const std::string& path, const std::string& bytes) {
    ASSERT_TRUE(store_.Delete(path).ok());
    auto stream = store_.Create(path);
    ASSERT_TRUE(stream.ok());
    ASSERT_TRUE((*stream)->Write(bytes).ok());
    ASSERT_TRUE((*stream)->Finish().ok());
  }
};

TEST_F(RestoreBadInputTest, MissingFile) {
  IncrementalRemoteKeyedStateHandle handle = Checkpoint();
  const HandleAndLocalPath& victim = handle.private_state.back();
  ASSERT_TRUE(store_.Delete(victim.handle.path).ok());
  ExpectFailsNamingAndLeavesNothing(handle, victim.local_path);
}

// Issue #13 part 5 (FLINK-32681, FLINK-39998): downloads run in parallel (4 transfers); when one fails no new
// transfer starts, every transfer in flight ends before the restore returns and deletes its directory (nothing lands
// there later), and the error is the failed file's own.
TEST_F(RestoreBadInputTest, FailedParallelDownloadWaitsForEveryTransferAndStartsNoNewOne) {
  IncrementalRemoteKeyedStateHandle handle = Checkpoint();
  const size_t files = handle.shared_state.size() + handle.private_state.size();
  ASSERT_GE(files, 6u);
  int reads = 0;
  int in_flight = 0;
  int most_in_flight = 0;
  std::string failed_path;
  std::vector<int64_t> starts;
  int64_t failed_at = -1;
  store_.SetFaultHook([&](const ObjectStoreOperation& operation) {
    if (operation.kind != ObjectStoreOperationKind::kRead || operation.path == handle.meta_state_handle.path) {
      return absl::OkStatus();
    }
    const int mine = ++reads;
    starts.push_back(scheduler_.NowMicros());
    most_in_flight = std::max(most_in_flight, ++in_flight);
    scheduler_.SleepForMicros(mine == 2 ? 500 : 3000);  // a transfer takes a while: others start meanwhile
    --in_flight;
    if (mine == 2) {
      failed_path = operation.path;
      failed_at = scheduler_.NowMicros();
      return absl::UnavailableError("injected: download failed");
    }
    return absl::OkStatus();
  });
  KeyedStateBackendConfig config = Config("target");
  config.transfer_threads = 4;
  absl::StatusOr<RestoreResult> restored = RestoreFromRemoteHandle(config, scheduler_, store_, handle);
  store_.SetFaultHook(nullptr);
  ASSERT_FALSE(restored.ok()) << "reads=" << reads << " files=" << files;
  EXPECT_THAT(std::string(restored.status().message()), HasSubstr("injected: download failed"));
  EXPECT_THAT(std::string(restored.status().message()), HasSubstr(failed_path));
  EXPECT_GT(most_in_flight, 1) << "downloads ran one at a time; reads=" << reads;
  // Once the failure is known no transfer starts; those already running end (the rest of the files are never read).
  for (const int64_t start : starts) EXPECT_LE(start, failed_at);
  EXPECT_LT(static_cast<size_t>(reads), files);
  EXPECT_FALSE(machine_.file_system()->Exists("/tm-0/target"));
  scheduler_.RunUntilQuiescent();
  EXPECT_FALSE(machine_.file_system()->Exists("/tm-0/target")) << "a download landed after the cleanup";
}

// Issue #13 part 5: a restore is cancelled while it downloads (another task of the job failed; Flink cancels this
// one). No download starts after the cancellation, those in flight end before the restore returns, the error is the
// cancellation (naming the checkpoint and the reason, never a follow-on error of a download), and nothing is left: the
// download directory, the DB and the instance directory are gone, and nothing lands there later.
TEST_F(RestoreBadInputTest, CancelledRestoreStopsItsDownloadsWaitsForThemAndLeavesNothing) {
  IncrementalRemoteKeyedStateHandle handle = Checkpoint();
  const size_t files = handle.shared_state.size() + handle.private_state.size();
  ASSERT_GE(files, 6u);
  auto cancellation = std::make_shared<CancellationToken>();
  int reads = 0;
  int in_flight = 0;
  int most_in_flight = 0;
  int64_t cancelled_at = -1;
  int64_t last_end = -1;
  std::vector<int64_t> starts;
  store_.SetFaultHook([&](const ObjectStoreOperation& operation) {
    if (operation.kind != ObjectStoreOperationKind::kRead || operation.path == handle.meta_state_handle.path) {
      return absl::OkStatus();
    }
    const int mine = ++reads;
    starts.push_back(scheduler_.NowMicros());
    most_in_flight = std::max(most_in_flight, ++in_flight);
    if (mine == 3) {
      scheduler_.SleepForMicros(200);
      cancellation->Cancel("subtask 7 failed to deploy");
      cancelled_at = scheduler_.NowMicros();
    } else {
      scheduler_.SleepForMicros(3000);  // in flight when the cancellation comes: it ends, its file is not written
    }
    --in_flight;
    last_end = scheduler_.NowMicros();
    return absl::OkStatus();
  });
  KeyedStateBackendConfig config = Config("target");
  config.transfer_threads = 4;
  config.cancellation = cancellation;
  absl::StatusOr<RestoreResult> restored = RestoreFromRemoteHandle(config, scheduler_, store_, handle);
  const int64_t returned_at = scheduler_.NowMicros();
  store_.SetFaultHook(nullptr);
  ASSERT_FALSE(restored.ok()) << "reads=" << reads << " files=" << files;
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kCancelled) << restored.status();
  EXPECT_THAT(std::string(restored.status().message()),
              HasSubstr("restoring checkpoint 9 cancelled: subtask 7 failed to deploy"));
  EXPECT_GT(most_in_flight, 1);
  for (const int64_t start : starts) EXPECT_LE(start, cancelled_at);
  EXPECT_LT(static_cast<size_t>(reads), files) << "the restore went on after its cancellation";
  EXPECT_EQ(in_flight, 0);
  EXPECT_GE(returned_at, last_end) << "returned while a download was still in flight";
  EXPECT_FALSE(machine_.file_system()->Exists("/tm-0/target"));
  scheduler_.RunUntilQuiescent();
  EXPECT_FALSE(machine_.file_system()->Exists("/tm-0/target")) << "a download landed after the cleanup";
  // A later restore of the same checkpoint is not disturbed.
  absl::StatusOr<RestoreResult> again = RestoreFromRemoteHandle(Config("target"), scheduler_, store_, handle);
  ASSERT_TRUE(again.ok()) << again.status();
  backends_.push_back(std::move(again->backend));
}

TEST_F(RestoreBadInputTest, WrongSizeFile) {
  IncrementalRemoteKeyedStateHandle handle = Checkpoint();
  const HandleAndLocalPath& victim = handle.private_state.front();
  Replace(victim.handle.path, "short");
  ExpectFailsNamingAndLeavesNothing(handle, absl::StrCat(victim.local_path, " (object ", victim.handle.path,
                                                         "): expected ", victim.handle.size_bytes, " bytes"));
}

TEST_F(RestoreBadInputTest, CorruptMetadata) {
  IncrementalRemoteKeyedStateHandle handle = Checkpoint();
  auto bytes = store_.Read(handle.meta_state_handle.path);
  ASSERT_TRUE(bytes.ok());
  std::string corrupt = *bytes;
  corrupt[corrupt.size() / 2] ^= 0x5A;
  Replace(handle.meta_state_handle.path, corrupt);
  handle.meta_state_handle.checksum = Crc32c(corrupt);  // the object store's checksum passes; the blob's does not
  ExpectFailsNamingAndLeavesNothing(handle, "'checksum'");
}

TEST_F(RestoreBadInputTest, CorruptAndTruncatedHandleMetadata) {
  const IncrementalRemoteKeyedStateHandle handle = Checkpoint();
  const std::string blob = SerializeIncrementalRemoteHandle(handle);
  absl::StatusOr<IncrementalRemoteKeyedStateHandle> parsed = ParseIncrementalRemoteHandle(blob, "chk-9/_metadata");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, handle);
  for (size_t size : {size_t{0}, size_t{3}, blob.size() / 2, blob.size() - 1}) {
    absl::StatusOr<IncrementalRemoteKeyedStateHandle> truncated =
        ParseIncrementalRemoteHandle(blob.substr(0, size), "chk-9/_metadata");
    ASSERT_FALSE(truncated.ok()) << size;
    EXPECT_THAT(std::string(truncated.status().message()), HasSubstr("chk-9/_metadata"));
  }
  std::string unknown_version = blob;
  unknown_version[5] = 7;
  unknown_version.resize(unknown_version.size() - 4);
  ByteWriter(&unknown_version).PutFixed32BigEndian(Crc32c(unknown_version));
  absl::StatusOr<IncrementalRemoteKeyedStateHandle> versioned =
      ParseIncrementalRemoteHandle(unknown_version, "chk-9/_metadata");
  ASSERT_FALSE(versioned.ok());
  EXPECT_THAT(std::string(versioned.status().message()), HasSubstr("unknown handle version 7"));
}

TEST_F(RestoreBadInputTest, NonRescalingRestoreRefusesAnotherRange) {
  IncrementalRemoteKeyedStateHandle handle = Checkpoint();
  KeyedStateBackendConfig config = Config("target");
  config.key_group_range = KeyGroupRange(0, 63);
  absl::StatusOr<RestoreResult> restored = RestoreFromRemoteHandle(config, scheduler_, store_, handle);
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(restored.status().message()), HasSubstr("RestoreKeyedState"));
  EXPECT_FALSE(machine_.file_system()->Exists("/tm-0/target"));
}

// Rescale 1 -> 2 -> 1, with writes in between: every key survives, and each task holds exactly its key groups.
TEST_F(SnapshotStrategiesTest, RescaleOneToTwoToOneKeepsEveryKey) {
  KeyedStateBackend& single = OpenBackend("p1");
  Write(single, 0, 400, "a");
  auto strategy = Incremental(single);
  absl::StatusOr<SnapshotResult> first = Snapshot(*strategy, 1);
  ASSERT_TRUE(first.ok()) << first.status();
  std::map<std::string, std::string> expected = Dump(single);

  std::vector<IncrementalRemoteKeyedStateHandle> halves;
  std::map<std::string, std::string> union_of_halves;
  for (int index = 0; index < 2; ++index) {
    KeyedStateBackendConfig config = Config(absl::StrCat("p2-", index));
    config.key_group_range = *ComputeKeyGroupRangeForOperatorIndex(128, 2, index);
    absl::StatusOr<RestoreResult> restored = RestoreKeyedState(config, scheduler_, store_, {*first->remote});
    ASSERT_TRUE(restored.ok()) << restored.status();
    EXPECT_NE(restored->backend_uid, single.config().backend_uid);  // a rescaled backend starts a new lineage
    EXPECT_EQ(restored->history.last_completed_checkpoint_id, -1);
    KeyedStateBackend& half = *restored->backend;
    for (const auto& [key, value] : Dump(half)) {
      const std::string user_key = key.substr(key.find('/') + 1, key.find('/', key.find('/') + 1) - key.find('/') - 1);
      EXPECT_TRUE(config.key_group_range.Contains(AssignKeyToKeyGroup(user_key, 128))) << key;
      union_of_halves[key] = value;
    }
    // Each half keeps taking writes for its own keys, then checkpoints.
    for (int i = 400; i < 600; ++i) {
      const std::string key = absl::StrCat("key-", i);
      if (!config.key_group_range.Contains(AssignKeyToKeyGroup(key, 128))) continue;
      ASSERT_TRUE(half.SetCurrentKey(key).ok());
      ASSERT_TRUE(half.PutValue("count", absl::StrCat("half", index)).ok());
    }
    ASSERT_TRUE(half.Flush().ok());
    IncrementalSnapshotStrategy half_strategy(&half, &scheduler_, &uploader_, {}, restored->backend_uid);
    absl::StatusOr<SnapshotResult> snapshot = Snapshot(half_strategy, 10 + index);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    halves.push_back(*snapshot->remote);
    for (const auto& [key, value] : Dump(half)) expected[key] = value;
    backends_.push_back(std::move(restored->backend));
  }
  EXPECT_EQ(union_of_halves, Dump(single));  // 1 -> 2 lost and duplicated nothing

  absl::StatusOr<RestoreResult> merged = RestoreKeyedState(Config("p1-again"), scheduler_, store_, halves);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(Dump(*merged->backend), expected);  // 2 -> 1 as well
  ASSERT_TRUE(merged->backend->SetCurrentKey("key-599").ok());
  EXPECT_TRUE((*merged->backend->GetValue("count")).has_value());
  backends_.push_back(std::move(merged->backend));
  scheduler_.RunUntilQuiescent();
  // The temporary download and instance directories are gone.
  for (const std::string& path : machine_.file_system()->ListFilesRecursively("/tm-0/p1-again")) {
    EXPECT_TRUE(absl::StartsWith(path, "/tm-0/p1-again/db/")) << path;
  }
}

absl::StatusOr<std::optional<KeyGroupsStateHandle>> CanonicalSavepoint(KeyedStateBackend& backend,
                                                                       CheckpointStorage& storage,
                                                                       Runtime& runtime, int64_t id) {
  CheckpointStreamFactory factory(&storage, &runtime, "job-1/shared", absl::StrCat("savepoints/savepoint-", id));
  CloseableRegistry registry;
  return WriteCanonicalSavepoint(backend, factory, registry);
}

TEST_F(SnapshotStrategiesTest, CanonicalSavepointRestoresIntoEitherModeAndAtAnyParallelism) {
  KeyedStateBackend& source = OpenBackend("source");
  Write(source, 0, 300, "a");
  const std::map<std::string, std::string> expected = Dump(source);
  absl::StatusOr<std::optional<KeyGroupsStateHandle>> savepoint = CanonicalSavepoint(source, store_, scheduler_, 1);
  ASSERT_TRUE(savepoint.ok()) << savepoint.status();
  ASSERT_TRUE(savepoint->has_value());
  EXPECT_TRUE(absl::StartsWith((*savepoint)->delegate.path, "savepoints/savepoint-1/"));
  int groups_with_data = 0;
  for (uint64_t offset : (*savepoint)->offsets.offsets) groups_with_data += offset != 0 ? 1 : 0;
  EXPECT_GT(groups_with_data, 50);

  // Same parallelism, then each native mode on top of the restored backend.
  absl::StatusOr<RestoreResult> restored =
      RestoreFromCanonicalSavepoint(Config("from-savepoint"), scheduler_, store_, {**savepoint});
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(Dump(*restored->backend), expected);
  EXPECT_EQ(restored->history.last_completed_checkpoint_id, -1);
  KeyedStateBackend& again = *restored->backend;
  backends_.push_back(std::move(restored->backend));
  int64_t id = 10;
  for (bool incremental : {true, false}) {
    std::unique_ptr<SnapshotStrategyBase> strategy;
    if (incremental) {
      strategy = std::make_unique<IncrementalSnapshotStrategy>(&again, &scheduler_, &uploader_, LocalRecoveryConfig{},
                                                               restored->backend_uid);
    } else {
      strategy = std::make_unique<NativeFullSnapshotStrategy>(&again, &scheduler_, &uploader_, LocalRecoveryConfig{},
                                                              restored->backend_uid);
    }
    absl::StatusOr<SnapshotResult> checkpoint = Snapshot(*strategy, ++id);
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
    absl::StatusOr<RestoreResult> native =
        RestoreKeyedState(Config(absl::StrCat("native-", id)), scheduler_, store_, {*checkpoint->remote});
    ASSERT_TRUE(native.ok()) << native.status();
    EXPECT_EQ(Dump(*native->backend), expected) << (incremental ? "incremental" : "full");
    backends_.push_back(std::move(native->backend));
  }

  // Parallelism 2: each half gets exactly its key groups, together all of them.
  std::map<std::string, std::string> union_of_halves;
  for (int index = 0; index < 2; ++index) {
    KeyedStateBackendConfig config = Config(absl::StrCat("half-", index));
    config.key_group_range = *ComputeKeyGroupRangeForOperatorIndex(128, 2, index);
    absl::StatusOr<RestoreResult> half = RestoreFromCanonicalSavepoint(config, scheduler_, store_, {**savepoint});
    ASSERT_TRUE(half.ok()) << half.status();
    for (const auto& [key, value] : Dump(*half->backend)) {
      EXPECT_TRUE(union_of_halves.emplace(key, value).second) << "restored twice: " << key;
    }
    backends_.push_back(std::move(half->backend));
  }
  EXPECT_EQ(union_of_halves, expected);
}

TEST_F(SnapshotStrategiesTest, CanonicalSavepointOfEmptyBackendIsEmpty) {
  KeyedStateBackend& source = OpenBackend("source");
  absl::StatusOr<std::optional<KeyGroupsStateHandle>> savepoint = CanonicalSavepoint(source, store_, scheduler_, 1);
  ASSERT_TRUE(savepoint.ok()) << savepoint.status();
  EXPECT_FALSE(savepoint->has_value());
  EXPECT_THAT(store_.AllPaths(), IsEmpty());
}

TEST_F(SnapshotStrategiesTest, CorruptCanonicalSavepointIsAnErrorNamingTheObject) {
  KeyedStateBackend& source = OpenBackend("source");
  Write(source, 0, 50, "a");
  absl::StatusOr<std::optional<KeyGroupsStateHandle>> savepoint = CanonicalSavepoint(source, store_, scheduler_, 1);
  ASSERT_TRUE(savepoint.ok() && savepoint->has_value());
  KeyGroupsStateHandle handle = **savepoint;
  // An offset pointing into the middle of an entry: the reader must fail cleanly, not crash.
  for (uint64_t& offset : handle.offsets.offsets) {
    if (offset != 0) {
      offset += 3;
      break;
    }
  }
  absl::StatusOr<RestoreResult> restored =
      RestoreFromCanonicalSavepoint(Config("target"), scheduler_, store_, {handle});
  ASSERT_FALSE(restored.ok());
  EXPECT_THAT(std::string(restored.status().message()), HasSubstr(handle.delegate.path));
  EXPECT_FALSE(machine_.file_system()->Exists("/tm-0/target"));
  // A missing object.
  ASSERT_TRUE(store_.Delete(handle.delegate.path).ok());
  restored = RestoreFromCanonicalSavepoint(Config("target"), scheduler_, store_, {**savepoint});
  ASSERT_FALSE(restored.ok());
  EXPECT_THAT(std::string(restored.status().message()), HasSubstr(handle.delegate.path));
}

// The canonical writer copies RocksDB's raw entries as they are, so a savepoint can carry an entry that no read
// can decode (written by another build, or damaged before the savepoint's checksum was taken). The restore must
// refuse it, naming the object, key group and state, instead of reporting success and failing on the first read.
TEST_F(SnapshotStrategiesTest, CanonicalRestoreRefusesEveryEntryThatAReadCouldNotDecode) {
  constexpr int kKeyGroup = 7;
  const int prefix_bytes = KeyGroupPrefixBytes(128);
  CompositeKeyBuilder builder(prefix_bytes);
  builder.SetKeyAndKeyGroup("key-1", AssignKeyToKeyGroup("key-1", 128));
  const std::string good_key = builder.BuildKeyNamespace("");
  const int other_key_group = (AssignKeyToKeyGroup("key-1", 128) + 1) % 128;
  CompositeKeyBuilder misplaced(prefix_bytes);
  misplaced.SetKeyAndKeyGroup("key-1", other_key_group);
  struct BadEntry {
    const char* what;
    const char* state;
    std::string key;
    std::string value;
    int key_group;
    const char* problem;
  };
  const std::vector<BadEntry> bad_entries = {
      // Says the key is 9 bytes long, then ends.
      {"truncated key", "count", SerializeKeyGroupPrefix(kKeyGroup, prefix_bytes) + "\x09" "abc", "v", kKeyGroup,
       "does not decode"},
      // A value-state key in a map state: no user key.
      {"map entry without user key", "attributes", good_key, "v", AssignKeyToKeyGroup("key-1", 128),
       "does not decode"},
      // Decodes, but reads look for key-1 in its own key group and would never find it.
      {"key in another key group", "count", misplaced.BuildKeyNamespace(""), "v", other_key_group, "belongs to"},
      // A list value that says 5 bytes follow where 2 do.
      {"undecodable list", "events", good_key, "\x05" "ab", AssignKeyToKeyGroup("key-1", 128), "does not decode"},
  };
  int64_t savepoint_id = 20;
  for (const BadEntry& bad : bad_entries) {
    SCOPED_TRACE(bad.what);
    KeyedStateBackend& source = OpenBackend(absl::StrCat("source-", savepoint_id));
    Write(source, 0, 20, "a");
    ASSERT_TRUE(source.PutRawEntry(bad.state, bad.key, bad.value).ok());
    absl::StatusOr<std::optional<KeyGroupsStateHandle>> savepoint =
        CanonicalSavepoint(source, store_, scheduler_, ++savepoint_id);
    ASSERT_TRUE(savepoint.ok() && savepoint->has_value()) << savepoint.status();

    const std::string target = absl::StrCat("target-", savepoint_id);
    absl::StatusOr<RestoreResult> restored =
        RestoreFromCanonicalSavepoint(Config(target), scheduler_, store_, {**savepoint});
    if (restored.ok()) {
      ADD_FAILURE() << "restored, reporting success, a savepoint holding a " << bad.what << " in state '"
                    << bad.state << "'; iterating it now gives: "
                    << restored->backend->ForEachEntry(bad.state, KeyGroupRange(0, 127),
                                                       [](const StateEntry&) { return true; });
      continue;
    }
    EXPECT_EQ(restored.status().code(), absl::StatusCode::kDataLoss) << restored.status();
    const std::string message(restored.status().message());
    EXPECT_THAT(message, HasSubstr((*savepoint)->delegate.path));
    EXPECT_THAT(message, HasSubstr(absl::StrCat("key group ", bad.key_group)));
    EXPECT_THAT(message, HasSubstr(absl::StrCat("state '", bad.state, "'")));
    EXPECT_THAT(message, HasSubstr(bad.problem));
    // Nothing half-restored is left behind.
    EXPECT_FALSE(machine_.file_system()->Exists("/tm-0/" + target));
  }
}

// A cancellation reaches every restore path: a local-recovery restore is cancelled too (and does not fall back to
// checkpoint storage, which it would download), leaving the local copy intact for the next attempt; a rescaling
// restore and a canonical savepoint restore stop before they read anything.
TEST_F(SnapshotStrategiesTest, CancelledRestoreStopsOnEveryPathAndKeepsTheLocalCopy) {
  KeyedStateBackend& backend = OpenBackend("op");
  LocalRecoveryConfig local{true, "/tm-0/local/sti_0"};
  auto strategy = Incremental(backend, local);
  Write(backend, 0, 200, "a");
  const std::map<std::string, std::string> expected = Dump(backend);
  absl::StatusOr<SnapshotResult> result = Snapshot(*strategy, 4);
  ASSERT_TRUE(result.ok()) << result.status();
  absl::StatusOr<std::optional<KeyGroupsStateHandle>> savepoint = CanonicalSavepoint(backend, store_, scheduler_, 5);
  ASSERT_TRUE(savepoint.ok() && savepoint->has_value());
  const std::vector<std::string> local_files = machine_.file_system()->ListFilesRecursively(result->local->directory);
  ASSERT_FALSE(local_files.empty());

  int reads = 0;
  store_.SetFaultHook([&](const ObjectStoreOperation& operation) {
    if (operation.kind == ObjectStoreOperationKind::kRead) ++reads;
    return absl::OkStatus();
  });
  auto cancellation = std::make_shared<CancellationToken>();
  cancellation->Cancel("the job was cancelled");
  KeyedStateBackendConfig config = Config("cancelled");
  config.cancellation = cancellation;
  bool used_local = true;
  absl::Status local_error = absl::UnknownError("unset");
  absl::StatusOr<RestoreResult> restored = RestoreWithLocalRecovery(config, scheduler_, store_, *result->remote,
                                                                    result->local, &used_local, &local_error);
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kCancelled) << restored.status();
  EXPECT_THAT(std::string(restored.status().message()), HasSubstr("the job was cancelled"));
  EXPECT_FALSE(used_local);
  EXPECT_TRUE(local_error.ok()) << "a cancellation is not damage to the local copy: " << local_error;
  // Rescaling (two target halves from one handle) and canonical restores.
  KeyedStateBackendConfig half = config;
  half.key_group_range = *ComputeKeyGroupRangeForOperatorIndex(128, 2, 1);
  restored = RestoreKeyedState(half, scheduler_, store_, {*result->remote});
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kCancelled) << restored.status();
  restored = RestoreFromCanonicalSavepoint(config, scheduler_, store_, {**savepoint});
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kCancelled) << restored.status();
  EXPECT_THAT(std::string(restored.status().message()), HasSubstr((*savepoint)->delegate.path));
  store_.SetFaultHook(nullptr);
  EXPECT_EQ(reads, 0) << "a cancelled restore read from checkpoint storage";
  EXPECT_FALSE(machine_.file_system()->Exists("/tm-0/cancelled"));

  // The local copy is as it was, and the next attempt restores from it.
  EXPECT_EQ(machine_.file_system()->ListFilesRecursively(result->local->directory), local_files);
  restored = RestoreWithLocalRecovery(Config("next-attempt"), scheduler_, store_, *result->remote, result->local,
                                      &used_local);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_TRUE(used_local);
  EXPECT_EQ(Dump(*restored->backend), expected);
  backends_.push_back(std::move(restored->backend));
}

}  // namespace
}  // namespace snapsim
