#include "snapshot/file_merging.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backend/local_files.h"
#include "backend/runtime.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "snapshot/completed_checkpoint.h"
#include "snapshot/directory_checkpoint_storage.h"

namespace snapsim {
namespace {

using ::testing::IsEmpty;
using ::testing::SizeIs;

std::string FreshRoot() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string root = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/file_merging_test/",
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  (void)DeleteRecursively(rocksdb::Env::Default(), root);
  EXPECT_TRUE(CreateDirectories(rocksdb::Env::Default(), root).ok());
  return root;
}

// Storage that refuses the next `fail_syncs` syncs.
class FlakyStorage : public CheckpointStorage {
 public:
  explicit FlakyStorage(CheckpointStorage* target) : target_(target) {}
  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> Create(const std::string& path) override {
    absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = target_->Create(path);
    if (!stream.ok()) return stream;
    return std::unique_ptr<CheckpointOutputStream>(new Stream(this, *std::move(stream)));
  }
  absl::StatusOr<std::string> Read(const std::string& path) override { return target_->Read(path); }
  absl::Status Delete(const std::string& path) override { return target_->Delete(path); }
  absl::StatusOr<std::vector<std::string>> List(const std::string& prefix) override { return target_->List(prefix); }
  absl::StatusOr<bool> Exists(const std::string& path) override { return target_->Exists(path); }
  absl::StatusOr<StoredObjectInfo> Stat(const std::string& path) override { return target_->Stat(path); }

  int fail_syncs = 0;

 private:
  class Stream : public CheckpointOutputStream {
   public:
    Stream(FlakyStorage* storage, std::unique_ptr<CheckpointOutputStream> target)
        : storage_(storage), target_(std::move(target)) {}
    absl::Status Write(absl::string_view data) override { return target_->Write(data); }
    absl::StatusOr<StoredObjectInfo> Finish() override { return target_->Finish(); }
    absl::StatusOr<StoredObjectInfo> Sync() override {
      if (storage_->fail_syncs > 0) {
        --storage_->fail_syncs;
        return absl::UnavailableError("injected: sync refused");
      }
      return target_->Sync();
    }
    void Cancel() override { target_->Cancel(); }

   private:
    FlakyStorage* storage_;
    std::unique_ptr<CheckpointOutputStream> target_;
  };
  CheckpointStorage* target_;
};

class FileMergingTest : public ::testing::Test {
 protected:
  FileMergingTest() : directory_(FreshRoot()), storage_(&directory_) {}

  std::unique_ptr<FileMergingSnapshotManager> NewManager(FileMergingOptions options, const std::string& tm = "tm-1",
                                                         bool init = true) {
    options.enabled = true;
    auto manager = std::make_unique<FileMergingSnapshotManager>(absl::StrCat("job_j_tm_", tm), options, &runtime_);
    if (init) {
      EXPECT_TRUE(manager->InitFileSystem(&storage_, "job/shared", "job/taskowned").ok());
      EXPECT_TRUE(manager->RegisterSubtaskForSharedStates(key_).ok());
    }
    return manager;
  }

  // One segment of `bytes` for checkpoint `checkpoint`, in shared scope.
  SegmentHandle Write(FileMergingSnapshotManager& manager, int64_t checkpoint, const std::string& bytes,
                      StateScope scope = StateScope::kShared) {
    std::unique_ptr<FileMergingOutputStream> stream = manager.CreateStream(key_, checkpoint, scope);
    EXPECT_TRUE(stream->Write(bytes).ok());
    absl::StatusOr<std::optional<SegmentHandle>> handle = stream->CloseAndGetHandle();
    EXPECT_TRUE(handle.ok()) << handle.status();
    EXPECT_TRUE(handle.ok() && handle->has_value());
    return handle.ok() && handle->has_value() ? **handle : SegmentHandle{};
  }

  bool Exists(const std::string& path) { return *storage_.Exists(path); }

  ThreadRuntime runtime_;
  DirectoryCheckpointStorage directory_;
  FlakyStorage storage_;
  const SubtaskKey key_{"j", "op", 0, 2};
};

TEST_F(FileMergingTest, SegmentsGoOneAfterAnotherIntoAPhysicalFileAndReadBackChecked) {
  std::unique_ptr<FileMergingSnapshotManager> manager = NewManager({});
  const SegmentHandle a = Write(*manager, 1, "first state");
  const SegmentHandle b = Write(*manager, 1, "second");
  const SegmentHandle c = Write(*manager, 1, "third one");
  EXPECT_EQ(a.physical_path, b.physical_path);
  EXPECT_EQ(b.physical_path, c.physical_path);
  EXPECT_EQ(a.offset, 0u);
  EXPECT_EQ(b.offset, 11u);
  EXPECT_EQ(c.offset, 17u);
  EXPECT_TRUE(absl::StartsWith(a.physical_path, "job/shared/job_j_op_op_0_2/")) << a.physical_path;
  EXPECT_EQ(*ReadSegment(storage_, b, "state b"), "second");
  EXPECT_EQ(*ReadSegment(storage_, c, "state c"), "third one");
  SegmentHandle wrong = b;
  wrong.checksum ^= 1;
  absl::StatusOr<std::string> corrupt = ReadSegment(storage_, wrong, "state b");
  EXPECT_TRUE(absl::IsDataLoss(corrupt.status())) << corrupt.status();
  EXPECT_THAT(std::string(corrupt.status().message()), ::testing::HasSubstr(b.physical_path));
  SegmentHandle beyond = c;
  beyond.length = 1000;
  EXPECT_TRUE(absl::IsDataLoss(ReadSegment(storage_, beyond, "state c").status()));
  EXPECT_EQ(manager->stats().physical_files_created, 1u);
  EXPECT_EQ(manager->stats().segments_written, 3u);
}

TEST_F(FileMergingTest, AnEmptyStreamTakesNoPhysicalFile) {
  std::unique_ptr<FileMergingSnapshotManager> manager = NewManager({});
  std::unique_ptr<FileMergingOutputStream> stream = manager->CreateStream(key_, 1, StateScope::kShared);
  absl::StatusOr<std::optional<SegmentHandle>> handle = stream->CloseAndGetHandle();
  ASSERT_TRUE(handle.ok());
  EXPECT_FALSE(handle->has_value());
  EXPECT_EQ(manager->stats().physical_files_created, 0u);
}

TEST_F(FileMergingTest, AFullPhysicalFileIsClosedAndTheNextSegmentStartsAnother) {
  FileMergingOptions options;
  options.max_file_size = 10;
  std::unique_ptr<FileMergingSnapshotManager> manager = NewManager(options);
  const SegmentHandle a = Write(*manager, 1, "0123456789AB");  // over the maximum: the file is closed after it
  const SegmentHandle b = Write(*manager, 1, "xy");
  EXPECT_NE(a.physical_path, b.physical_path);
  EXPECT_EQ(b.offset, 0u);
  EXPECT_EQ(*ReadSegment(storage_, a, "a"), "0123456789AB");
}

TEST_F(FileMergingTest, WithinCheckpointMergingNeverMixesCheckpointsAcrossMergingAppends) {
  std::unique_ptr<FileMergingSnapshotManager> within = NewManager({});
  const SegmentHandle one = Write(*within, 1, "checkpoint 1");
  const SegmentHandle two = Write(*within, 2, "checkpoint 2");
  EXPECT_NE(one.physical_path, two.physical_path);

  FileMergingOptions options;
  options.across_checkpoint_boundary = true;
  std::unique_ptr<FileMergingSnapshotManager> across = NewManager(options, "tm-2");
  const SegmentHandle three = Write(*across, 3, "checkpoint 3");
  across->NotifyCheckpointComplete(key_, 3);
  const SegmentHandle four = Write(*across, 4, "checkpoint 4");
  EXPECT_EQ(three.physical_path, four.physical_path);
  EXPECT_EQ(four.offset, three.length);
  EXPECT_EQ(*ReadSegment(storage_, three, "three"), "checkpoint 3");
  EXPECT_EQ(*ReadSegment(storage_, four, "four"), "checkpoint 4");
}

TEST_F(FileMergingTest, APhysicalFileIsDeletedOnlyOnceNoCheckpointUsesASegmentOfIt) {
  std::unique_ptr<FileMergingSnapshotManager> manager = NewManager({});
  manager->NotifyCheckpointStart(key_, 1);
  const SegmentHandle reused = Write(*manager, 1, "an sst both checkpoints have");
  const SegmentHandle dropped = Write(*manager, 1, "an sst only checkpoint 1 has");
  manager->NotifyCheckpointComplete(key_, 1);  // within-checkpoint: checkpoint 1's file is closed now
  manager->NotifyCheckpointStart(key_, 2);
  manager->ReusePreviousStateHandles(2, {reused.logical_id});
  const SegmentHandle fresh = Write(*manager, 2, "an sst new in checkpoint 2");
  manager->NotifyCheckpointComplete(key_, 2);
  manager->NotifyCheckpointSubsumed(key_, 1);
  EXPECT_TRUE(Exists(reused.physical_path)) << "checkpoint 2 still uses a segment of it";
  EXPECT_THAT(manager->KnownLogicalFiles(), SizeIs(2));
  EXPECT_EQ(manager->KnownLogicalFiles().count(dropped.logical_id), 0u);
  manager->NotifyCheckpointSubsumed(key_, 2);
  EXPECT_FALSE(Exists(reused.physical_path));
  EXPECT_FALSE(Exists(fresh.physical_path)) << "closed at its completion, unused at its subsumption";
  EXPECT_THAT(manager->KnownLogicalFiles(), IsEmpty());
  EXPECT_EQ(manager->stats().physical_files_deleted, 2u);
}

TEST_F(FileMergingTest, AnAbortedCheckpointsSegmentsGoAndTheirFileWithThem) {
  std::unique_ptr<FileMergingSnapshotManager> manager = NewManager({});
  manager->NotifyCheckpointStart(key_, 1);
  const SegmentHandle segment = Write(*manager, 1, "never confirmed");
  manager->NotifyCheckpointAborted(key_, 1);
  EXPECT_FALSE(Exists(segment.physical_path));
  EXPECT_THAT(manager->KnownLogicalFiles(), IsEmpty());
}

TEST_F(FileMergingTest, RestoredFilesAreNeverAppendedToNorReusedAndDeletedOnlyWhenOwned) {
  std::unique_ptr<FileMergingSnapshotManager> writer = NewManager({});
  const SegmentHandle segment = Write(*writer, 1, "restored state");
  writer->NotifyCheckpointComplete(key_, 1);
  writer.reset();  // its job failed over; the file stays (handed over by the completed checkpoint)
  ASSERT_TRUE(Exists(segment.physical_path));

  // The same subtask, task manager and directories: the file is this manager's own.
  std::unique_ptr<FileMergingSnapshotManager> owner = NewManager({});
  ASSERT_TRUE(owner->RestoreStateHandles(1, key_, {segment}).ok());
  EXPECT_FALSE(owner->CouldReusePreviousStateHandle(segment.logical_id)) << "FLINK-35803: uploaded again instead";
  const SegmentHandle next = Write(*owner, 2, "after the restore");
  EXPECT_NE(next.physical_path, segment.physical_path) << "a restored file is never appended to";

  // Another job's manager (rescaled: another subtask key, so other directories) does not own it.
  const SubtaskKey other{"j2", "op", 1, 3};
  auto stranger = std::make_unique<FileMergingSnapshotManager>("job_j2_tm_tm-9", FileMergingOptions{}, &runtime_);
  ASSERT_TRUE(stranger->InitFileSystem(&storage_, "job2/shared", "job2/taskowned").ok());
  ASSERT_TRUE(stranger->RegisterSubtaskForSharedStates(other).ok());
  ASSERT_TRUE(stranger->RestoreStateHandles(1, other, {segment}).ok());
  stranger->NotifyCheckpointSubsumed(other, 5);
  EXPECT_TRUE(Exists(segment.physical_path)) << "not owned: only its owner or the job manager deletes it";
  EXPECT_THAT(stranger->KnownLogicalFiles(), IsEmpty());

  // A manager that never initialised its file system owns nothing it restores (FLINK-35446).
  std::unique_ptr<FileMergingSnapshotManager> uninitialised = NewManager({}, "tm-3", /*init=*/false);
  ASSERT_TRUE(uninitialised->RestoreStateHandles(1, key_, {segment}).ok());
  uninitialised->NotifyCheckpointSubsumed(key_, 5);
  EXPECT_TRUE(Exists(segment.physical_path));

  owner->NotifyCheckpointSubsumed(key_, 1);
  EXPECT_FALSE(Exists(segment.physical_path)) << "owned, closed, unused: deleted";
}

TEST_F(FileMergingTest, RestoringAMissingPhysicalFileFailsNamingIt) {
  std::unique_ptr<FileMergingSnapshotManager> manager = NewManager({});
  SegmentHandle missing{"job/shared/job_j_op_op_0_2/gone", 0, 4, StateScope::kShared, "id-1", 0};
  absl::Status status = manager->RestoreStateHandles(1, key_, {missing});
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("job/shared/job_j_op_op_0_2/gone"));
}

TEST_F(FileMergingTest, AFailedWriteDoesNotStallABlockingPool) {
  FileMergingOptions options;
  options.pool_blocking = true;
  options.across_checkpoint_boundary = true;
  std::unique_ptr<FileMergingSnapshotManager> manager = NewManager(options);
  const SegmentHandle first = Write(*manager, 1, "kept");
  storage_.fail_syncs = 1;
  std::unique_ptr<FileMergingOutputStream> failing = manager->CreateStream(key_, 1, StateScope::kShared);
  ASSERT_TRUE(failing->Write("lost").ok());
  EXPECT_FALSE(failing->CloseAndGetHandle().ok());
  // Flink's blocking pool would now wait for ever for the file the failed stream closed; here a new one is made.
  const SegmentHandle after = Write(*manager, 1, "after the failure");
  EXPECT_NE(after.physical_path, first.physical_path);
  EXPECT_EQ(*ReadSegment(storage_, first, "first"), "kept") << "what the file held before stays";
}

TEST_F(FileMergingTest, SpaceControlStopsReusingAFileMostlyWasted) {
  FileMergingOptions options;
  options.max_file_size = 100;  // the file closes after its two segments
  options.max_space_amplification = 1.5;
  std::unique_ptr<FileMergingSnapshotManager> manager = NewManager(options);
  const SegmentHandle big = Write(*manager, 1, std::string(200, 'b'));
  // `big` filled its file; the next two share another one.
  const SegmentHandle small = Write(*manager, 1, "s");
  const SegmentHandle huge = Write(*manager, 1, std::string(300, 'h'));
  ASSERT_EQ(small.physical_path, huge.physical_path);
  manager->NotifyCheckpointComplete(key_, 1);
  EXPECT_TRUE(manager->CouldReusePreviousStateHandle(small.logical_id));
  // Checkpoint 2 keeps only `small` and `big`: `huge`'s 300 bytes are garbage in a file that stays for `small`.
  manager->ReusePreviousStateHandles(2, {small.logical_id, big.logical_id});
  manager->NotifyCheckpointComplete(key_, 2);
  manager->NotifyCheckpointSubsumed(key_, 1);
  EXPECT_TRUE(Exists(small.physical_path));
  EXPECT_FALSE(manager->CouldReusePreviousStateHandle(small.logical_id)) << "501 stored bytes for 201 live ones";
  EXPECT_TRUE(manager->CouldReusePreviousStateHandle(big.logical_id)) << "a file without waste stays reusable";
}

TEST_F(FileMergingTest, ManagedDirectoriesNoCheckpointIncludedAreDeletedOnCloseOthersAreNot) {
  std::unique_ptr<FileMergingSnapshotManager> manager = NewManager({});
  manager->NotifyCheckpointStart(key_, 1);
  const SegmentHandle aborted = Write(*manager, 1, "aborted");
  manager->NotifyCheckpointAborted(key_, 1);
  std::unique_ptr<FileMergingOutputStream> left = manager->CreateStream(key_, 2, StateScope::kShared);
  ASSERT_TRUE(left->Write("written, never confirmed").ok());
  absl::StatusOr<std::optional<SegmentHandle>> orphan = left->CloseAndGetHandle();
  ASSERT_TRUE(orphan.ok() && orphan->has_value());
  manager->Close();
  EXPECT_THAT(*storage_.List("job/shared/"), IsEmpty());

  std::unique_ptr<FileMergingSnapshotManager> completed = NewManager({}, "tm-2");
  completed->NotifyCheckpointStart(key_, 3);
  const SegmentHandle kept = Write(*completed, 3, "completed");
  completed->NotifyCheckpointComplete(key_, 3);
  completed->Close();
  EXPECT_TRUE(Exists(kept.physical_path)) << "the job manager owns the directory once a checkpoint included it";
}

TEST_F(FileMergingTest, TheJobManagersDiscardOfACheckpointNeverDeletesASegmentsPhysicalFile) {
  std::unique_ptr<FileMergingSnapshotManager> manager = NewManager({});
  const SegmentHandle shared = Write(*manager, 1, "an sst");
  const SegmentHandle exclusive = Write(*manager, 1, "a manifest", StateScope::kExclusive);
  std::unique_ptr<CheckpointOutputStream> meta = *storage_.Create("job/chk-1/meta");
  ASSERT_TRUE(meta->Write("meta").ok());
  IncrementalRemoteKeyedStateHandle handle;
  handle.checkpoint_id = 1;
  handle.shared_state = {{shared.ToStreamStateHandle(), "000009.sst"}};
  handle.private_state = {{exclusive.ToStreamStateHandle(), "MANIFEST-000004"}};
  handle.meta_state_handle = StreamStateHandle::File(*meta->Finish());
  EXPECT_EQ(*ReadStreamStateHandle(storage_, handle.shared_state[0].handle, "the sst"), "an sst");
  EXPECT_TRUE(DiscardKeyedState(storage_, handle, /*shared_files_registered=*/false).ok());
  EXPECT_FALSE(Exists("job/chk-1/meta"));
  EXPECT_TRUE(Exists(shared.physical_path));
  EXPECT_TRUE(Exists(exclusive.physical_path));
}

}  // namespace
}  // namespace snapsim
