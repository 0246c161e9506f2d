// The same snapshot code on real disk with real threads (the --fs=posix mode): DirectoryCheckpointStorage as the
// checkpoint storage, rocksdb::Env::Default() as local disk, ThreadRuntime as the runtime.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backend/cancellation.h"
#include "backend/encoding.h"
#include "backend/keyed_state_backend.h"
#include "backend/runtime.h"
#include "snapshot/directory_checkpoint_storage.h"
#include "snapshot/incremental_restore_operation.h"
#include "snapshot/keyed_state_task.h"
#include "backend/local_files.h"
#include "snapshot/snapshot_strategies.h"

namespace snapsim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class RealDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    base_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    (void)DeleteRecursively(rocksdb::Env::Default(), base_);
    ASSERT_TRUE(rocksdb::Env::Default()->CreateDirIfMissing(base_).ok());
    storage_ = std::make_unique<DirectoryCheckpointStorage>(base_ + "/checkpoints");
  }
  void TearDown() override { (void)DeleteRecursively(rocksdb::Env::Default(), base_); }

  void Put(const std::string& path, const std::string& bytes) {
    auto stream = storage_->Create(path);
    ASSERT_TRUE(stream.ok()) << stream.status();
    ASSERT_TRUE((*stream)->Write(bytes).ok());
    auto info = (*stream)->Finish();
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->size_bytes, bytes.size());
  }

  // A backend in <base>/instance on the real disk.
  KeyedStateBackendConfig BackendConfig(Runtime* runtime) const {
    KeyedStateBackendConfig config;
    config.env = rocksdb::Env::Default();
    config.runtime = runtime;
    config.instance_path = base_ + "/instance";
    config.preset = OptionsPreset::kRealDisk;
    config.backend_uid = "real-backend";
    return config;
  }

  // Opens a backend with value state "count" and writes key-<batch>-<i> = i, flushing after each batch (one SST
  // file each).
  std::unique_ptr<KeyedStateBackend> FilledBackend(const KeyedStateBackendConfig& config, int batches, int keys) {
    absl::StatusOr<std::unique_ptr<KeyedStateBackend>> backend = KeyedStateBackend::Open(config);
    EXPECT_TRUE(backend.ok()) << backend.status();
    if (!backend.ok()) return nullptr;
    EXPECT_TRUE((*backend)->RegisterState("count", StateKind::kValue).ok());
    for (int batch = 0; batch < batches; ++batch) {
      for (int i = 0; i < keys; ++i) {
        EXPECT_TRUE((*backend)->SetCurrentKey(absl::StrCat("key-", batch, "-", i)).ok());
        EXPECT_TRUE((*backend)->PutValue("count", absl::StrCat(i)).ok());
      }
      EXPECT_TRUE((*backend)->Flush().ok());
    }
    return *std::move(backend);
  }

  // Takes checkpoint `id` of the strategy's backend into storage_ and waits for it.
  absl::StatusOr<SnapshotResult> Checkpoint(SnapshotStrategyBase& strategy, Runtime& runtime, int64_t id) {
    auto running = SnapshotRunner::Snapshot(strategy, runtime, id,
                                            CheckpointStreamFactory::ForCheckpoint(storage_.get(), &runtime, "job", id),
                                            SnapshotType::kCheckpoint);
    if (!running.ok()) return running.status();
    return running->result.Get();
  }

  std::string base_;
  std::unique_ptr<DirectoryCheckpointStorage> storage_;
};

TEST_F(RealDiskTest, DirectoryStorageObjectsAppearOnlyWhenFinished) {
  Put("job/shared/a", "alpha");
  Put("job/chk-1/b", "beta");
  auto pending = storage_->Create("job/chk-1/c");
  ASSERT_TRUE(pending.ok());
  ASSERT_TRUE((*pending)->Write("partial").ok());
  EXPECT_THAT(*storage_->List("job/"), ElementsAre("job/chk-1/b", "job/shared/a"));  // no partial object
  (*pending)->Cancel();
  EXPECT_FALSE((*pending)->Finish().ok());
  pending->reset();
  EXPECT_FALSE(*storage_->Exists("job/chk-1/c"));
  EXPECT_EQ(*storage_->Read("job/shared/a"), "alpha");
  EXPECT_EQ(storage_->Stat("job/chk-1/b")->checksum, Crc32c("beta"));
  EXPECT_EQ(storage_->Create("job/shared/a").status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(storage_->Create("../escape").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(storage_->Create("/absolute").status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(storage_->Delete("job/shared/a").ok());
  EXPECT_EQ(storage_->Delete("job/shared/a").code(), absl::StatusCode::kNotFound);
  {
    auto dropped = storage_->Create("job/chk-2/d");
    ASSERT_TRUE(dropped.ok());
    ASSERT_TRUE((*dropped)->Write("never finished").ok());
  }
  EXPECT_THAT(*storage_->List("job/chk-2"), IsEmpty());
}

TEST_F(RealDiskTest, IncrementalSnapshotAndRestoreWithRealThreads) {
  ThreadRuntime runtime;
  StateUploader uploader(&runtime, 4);
  const KeyedStateBackendConfig config = BackendConfig(&runtime);
  auto backend = KeyedStateBackend::Open(config);
  ASSERT_TRUE(backend.ok()) << backend.status();
  ASSERT_TRUE((*backend)->RegisterState("count", StateKind::kValue).ok());
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE((*backend)->SetCurrentKey(absl::StrCat("key-", i)).ok());
    ASSERT_TRUE((*backend)->PutValue("count", absl::StrCat(i)).ok());
    expected[absl::StrCat("key-", i)] = absl::StrCat(i);
  }
  IncrementalSnapshotStrategy strategy(backend->get(), &runtime, &uploader, {}, config.backend_uid);
  auto running = SnapshotRunner::Snapshot(strategy, runtime, 1,
                                          CheckpointStreamFactory::ForCheckpoint(storage_.get(), &runtime, "job", 1),
                                          SnapshotType::kCheckpoint);
  ASSERT_TRUE(running.ok()) << running.status();
  const absl::StatusOr<SnapshotResult>& result = running->result.Get();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(LocalPathExists(config.env, config.instance_path + "/chk-1"));  // temporary directory released

  KeyedStateBackendConfig target = config;
  target.instance_path = base_ + "/restored";
  absl::StatusOr<RestoreResult> restored = RestoreKeyedState(target, runtime, *storage_, {*result->remote});
  ASSERT_TRUE(restored.ok()) << restored.status();
  for (const auto& [key, value] : expected) {
    ASSERT_TRUE(restored->backend->SetCurrentKey(key).ok());
    EXPECT_EQ(*restored->backend->GetValue("count"), std::optional<std::string>(value)) << key;
  }
}

TEST_F(RealDiskTest, ATaskManagerRestartedOnItsDiskRestoresFromItsPersistedLocalSnapshot) {
  ThreadRuntime runtime;
  const std::string local_directory = base_ + "/localState/job/sti_0";
  KeyedStateTaskConfig config;
  config.backend.env = rocksdb::Env::Default();
  config.backend.instance_path = base_ + "/attempt-1";
  config.backend.preset = OptionsPreset::kRealDisk;
  config.operators = 2;
  config.local_recovery.enabled = true;
  config.local_recovery.subtask_directory = local_directory;
  std::map<std::string, std::string> expected;
  TaskRestoreState restore;
  restore.checkpoint_id = 1;
  {
    TaskLocalStateStore store(rocksdb::Env::Default(), local_directory);
    auto task = KeyedStateTask::Start(config, &runtime, storage_.get(), &store, std::nullopt);
    ASSERT_TRUE(task.ok()) << task.status();
    for (int op = 0; op < 2; ++op) {
      ASSERT_TRUE((*task)->backend(op).RegisterState("count", StateKind::kValue).ok());
      for (int i = 0; i < 300; ++i) {
        ASSERT_TRUE((*task)->backend(op).SetCurrentKey(absl::StrCat("key-", i)).ok());
        ASSERT_TRUE((*task)->backend(op).PutValue("count", absl::StrCat(op, "-", i)).ok());
      }
    }
    CheckpointOptions options;
    options.shared_directory = "job/shared";
    options.exclusive_directory = "job/chk-1";
    auto future = (*task)->TriggerSnapshot(1, options);
    ASSERT_TRUE(future.ok()) << future.status();
    const absl::StatusOr<TaskSnapshot>& snapshot = future->Get();
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    for (const auto& handle : snapshot->handles) restore.operator_handles.push_back({*handle});
    ASSERT_TRUE((*task)->Close().ok());
  }  // the process and its in-memory store are gone; the disk keeps chk_1

  TaskLocalStateStore reloaded(rocksdb::Env::Default(), local_directory);
  EXPECT_EQ(reloaded.Reload(), 1);
  config.backend.instance_path = base_ + "/attempt-2";
  auto restored = KeyedStateTask::Start(config, &runtime, storage_.get(), &reloaded, restore);
  ASSERT_TRUE(restored.ok()) << restored.status();
  for (int op = 0; op < 2; ++op) {
    EXPECT_TRUE((*restored)->restored_from_local_state(op)) << (*restored)->local_restore_error(op);
    ASSERT_TRUE((*restored)->backend(op).RegisterState("count", StateKind::kValue).ok());
    ASSERT_TRUE((*restored)->backend(op).SetCurrentKey("key-299").ok());
    EXPECT_EQ(*(*restored)->backend(op).GetValue("count"), std::optional<std::string>(absl::StrCat(op, "-299")));
  }
  ASSERT_TRUE((*restored)->Close().ok());
  reloaded.Dispose();
  EXPECT_FALSE(LocalPathExists(rocksdb::Env::Default(), local_directory));
}

// #13 part 6 on real disk: a flipped bit in a local SST is caught before its upload, naming the file; a flipped bit
// in a stored object is caught after its download, naming the object; neither reaches a restored backend.
TEST_F(RealDiskTest, CorruptionOnLocalDiskAndInStorageIsDetectedByNameWithRealThreads) {
  ThreadRuntime runtime;
  StateUploader uploader(&runtime, 2);
  const KeyedStateBackendConfig config = BackendConfig(&runtime);
  std::unique_ptr<KeyedStateBackend> backend = FilledBackend(config, 1, 500);
  ASSERT_NE(backend, nullptr);
  IncrementalSnapshotStrategy strategy(backend.get(), &runtime, &uploader, {}, config.backend_uid);
  // A good snapshot first, to restore from later.
  const absl::StatusOr<SnapshotResult> good = Checkpoint(strategy, runtime, 1);
  ASSERT_TRUE(good.ok()) << good.status();

  // Flip one bit in the middle of the live SST file on disk.
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(config.env, config.instance_path + "/db");
  ASSERT_TRUE(names.ok()) << names.status();
  std::string sst;
  for (const std::string& name : *names) {
    if (absl::EndsWith(name, ".sst")) sst = config.instance_path + "/db/" + name;
  }
  ASSERT_FALSE(sst.empty());
  absl::StatusOr<std::string> bytes = ReadLocalFile(config.env, sst);
  ASSERT_TRUE(bytes.ok());
  (*bytes)[bytes->size() / 3] ^= 0x10;
  ASSERT_TRUE(DeleteRecursively(config.env, sst).ok());
  ASSERT_TRUE(WriteLocalFile(config.env, sst, *bytes).ok());
  const absl::StatusOr<SnapshotResult> corrupt_local = Checkpoint(strategy, runtime, 2);
  ASSERT_FALSE(corrupt_local.ok()) << "a corrupt SST was uploaded";
  EXPECT_THAT(std::string(corrupt_local.status().message()), HasSubstr("before its upload"));
  EXPECT_THAT(std::string(corrupt_local.status().message()), HasSubstr(sst.substr(sst.rfind('/') + 1)));

  // Flip one bit in the stored copy of the good snapshot's largest shared file.
  const IncrementalRemoteKeyedStateHandle& remote = *good->remote;
  const HandleAndLocalPath* largest = nullptr;
  for (const HandleAndLocalPath& file : remote.shared_state) {
    if (largest == nullptr || file.handle.size_bytes > largest->handle.size_bytes) largest = &file;
  }
  ASSERT_NE(largest, nullptr);
  const std::string object = base_ + "/checkpoints/" + largest->handle.path;
  absl::StatusOr<std::string> stored = ReadLocalFile(config.env, object);
  ASSERT_TRUE(stored.ok()) << stored.status();
  (*stored)[stored->size() / 2] ^= 0x01;
  ASSERT_TRUE(DeleteRecursively(config.env, object).ok());
  ASSERT_TRUE(WriteLocalFile(config.env, object, *stored).ok());
  KeyedStateBackendConfig target = config;
  target.instance_path = base_ + "/restored";
  absl::StatusOr<RestoreResult> restored = RestoreKeyedState(target, runtime, *storage_, {remote});
  ASSERT_FALSE(restored.ok()) << "a corrupt download was restored";
  EXPECT_THAT(std::string(restored.status().message()), HasSubstr("checksum mismatch"));
  EXPECT_THAT(std::string(restored.status().message()), HasSubstr(largest->handle.path));
}

// Issue #13 part 5 with real threads: reads of checkpoint storage take 20 ms each; the third cancels the restore (as
// the job master cancelling a task whose sibling failed would, from another thread). The restore fails as cancelled
// after every download in flight ended, reads far fewer files than the snapshot has, leaves nothing in its instance
// directory (nothing lands there later either), and the next attempt restores everything.
class SlowCancellingStorage : public CheckpointStorage {
 public:
  SlowCancellingStorage(CheckpointStorage* delegate, std::shared_ptr<CancellationToken> cancellation)
      : delegate_(delegate), cancellation_(std::move(cancellation)) {}
  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> Create(const std::string& path) override {
    return delegate_->Create(path);
  }
  absl::StatusOr<std::string> Read(const std::string& path) override {
    const int mine = ++reads;
    const int now_in_flight = ++in_flight;
    int seen = most_in_flight.load();
    while (now_in_flight > seen && !most_in_flight.compare_exchange_weak(seen, now_in_flight)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (mine == 3) cancellation_->Cancel("another task of the job failed");
    absl::StatusOr<std::string> bytes = delegate_->Read(path);
    --in_flight;
    return bytes;
  }
  absl::Status Delete(const std::string& path) override { return delegate_->Delete(path); }
  absl::StatusOr<std::vector<std::string>> List(const std::string& prefix) override { return delegate_->List(prefix); }
  absl::StatusOr<bool> Exists(const std::string& path) override { return delegate_->Exists(path); }
  absl::StatusOr<StoredObjectInfo> Stat(const std::string& path) override { return delegate_->Stat(path); }

  std::atomic<int> reads{0};
  std::atomic<int> in_flight{0};
  std::atomic<int> most_in_flight{0};

 private:
  CheckpointStorage* delegate_;
  std::shared_ptr<CancellationToken> cancellation_;
};

TEST_F(RealDiskTest, ARestoreCancelledWhileItDownloadsStopsWaitsAndLeavesNothingWithRealThreads) {
  ThreadRuntime runtime;
  StateUploader uploader(&runtime, 4);
  const KeyedStateBackendConfig config = BackendConfig(&runtime);
  std::unique_ptr<KeyedStateBackend> backend = FilledBackend(config, 6, 200);  // several SST files
  ASSERT_NE(backend, nullptr);
  IncrementalSnapshotStrategy strategy(backend.get(), &runtime, &uploader, {}, config.backend_uid);
  const absl::StatusOr<SnapshotResult> result = Checkpoint(strategy, runtime, 1);
  ASSERT_TRUE(result.ok()) << result.status();
  const size_t files = result->remote->shared_state.size() + result->remote->private_state.size();
  ASSERT_GE(files, 6u);

  auto cancellation = std::make_shared<CancellationToken>();
  SlowCancellingStorage slow(storage_.get(), cancellation);
  KeyedStateBackendConfig target = config;
  target.instance_path = base_ + "/restored";
  target.transfer_threads = 2;
  target.cancellation = cancellation;
  absl::StatusOr<RestoreResult> restored = RestoreKeyedState(target, runtime, slow, {*result->remote});
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kCancelled) << restored.status();
  EXPECT_THAT(std::string(restored.status().message()), HasSubstr("another task of the job failed"));
  EXPECT_EQ(slow.in_flight.load(), 0) << "returned while a download was in flight";
  EXPECT_GT(slow.most_in_flight.load(), 1);
  // The metadata, then two downloads at a time: the one that cancelled and the one beside it, nothing after.
  EXPECT_LT(static_cast<size_t>(slow.reads.load()), files) << "the restore went on after its cancellation";
  EXPECT_FALSE(LocalPathExists(config.env, target.instance_path));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(LocalPathExists(config.env, target.instance_path)) << "a download landed after the cleanup";

  target.cancellation = nullptr;
  restored = RestoreKeyedState(target, runtime, *storage_, {*result->remote});
  ASSERT_TRUE(restored.ok()) << restored.status();
  ASSERT_TRUE(restored->backend->SetCurrentKey("key-5-199").ok());
  EXPECT_EQ(*restored->backend->GetValue("count"), std::optional<std::string>("199"));
}

// #13 part 6 for local recovery on real disk: a bit flipped in an SST file of the task-local copy is found before
// the copy is restored, by the checksum its checkpoint recorded; the restore names the file and comes from checkpoint
// storage, with every key (swarm seed 332 in the simulation).
TEST_F(RealDiskTest, ACorruptLocalCopyIsRefusedByNameAndStorageRestoredWithRealThreads) {
  ThreadRuntime runtime;
  StateUploader uploader(&runtime, 2);
  const KeyedStateBackendConfig config = BackendConfig(&runtime);
  std::unique_ptr<KeyedStateBackend> backend = FilledBackend(config, 2, 300);
  ASSERT_NE(backend, nullptr);
  IncrementalSnapshotStrategy strategy(backend.get(), &runtime, &uploader,
                                       LocalRecoveryConfig{true, base_ + "/local/sti_0"}, config.backend_uid);
  const absl::StatusOr<SnapshotResult> result = Checkpoint(strategy, runtime, 1);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->local.has_value());
  std::string sst;
  for (const HandleAndLocalPath& file : result->remote->shared_state) {
    sst = result->local->directory + "/" + file.local_path;
  }
  ASSERT_FALSE(sst.empty());
  absl::StatusOr<std::string> bytes = ReadLocalFile(config.env, sst);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  (*bytes)[bytes->size() / 4] ^= 0x04;  // a data block
  ASSERT_TRUE(DeleteRecursively(config.env, sst).ok());
  ASSERT_TRUE(WriteLocalFile(config.env, sst, *bytes).ok());

  KeyedStateBackendConfig target = config;
  target.instance_path = base_ + "/restored";
  bool used_local = true;
  absl::Status local_error;
  absl::StatusOr<RestoreResult> restored = RestoreWithLocalRecovery(target, runtime, *storage_, *result->remote,
                                                                    result->local, &used_local, &local_error);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_FALSE(used_local) << "the corrupt local copy was restored";
  EXPECT_THAT(local_error.ToString(), HasSubstr(sst));
  EXPECT_THAT(local_error.ToString(), HasSubstr("checksum mismatch"));
  for (int batch = 0; batch < 2; ++batch) {
    for (int i = 0; i < 300; i += 37) {
      ASSERT_TRUE(restored->backend->SetCurrentKey(absl::StrCat("key-", batch, "-", i)).ok());
      EXPECT_EQ(*restored->backend->GetValue("count"), std::optional<std::string>(absl::StrCat(i)));
    }
  }
}

}  // namespace
}  // namespace snapsim
