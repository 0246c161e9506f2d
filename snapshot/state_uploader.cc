#include "snapshot/state_uploader.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "backend/rocksdb_status.h"

namespace snapsim {
namespace {

constexpr size_t kCopyBufferBytes = 16 * 1024;  // as Flink's uploader

}  // namespace

StateUploader::StateUploader(Runtime* runtime, int transfer_threads)
    : runtime_(runtime), transfer_threads_(std::max(1, transfer_threads)) {}

absl::StatusOr<StreamStateHandle> StateUploader::UploadOne(rocksdb::Env* env, const std::string& path,
                                                           CheckpointStreamFactory& factory, StateScope scope,
                                                           CloseableRegistry& snapshot_registry,
                                                           CloseableRegistry& tmp_resources) {
  std::unique_ptr<rocksdb::SequentialFile> input;
  absl::Status status = FromRocksDbStatus(env->NewSequentialFile(path, &input, rocksdb::EnvOptions()),
                                          absl::StrCat("opening ", path, " for upload"));
  if (!status.ok()) return status;
  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> created = factory.CreateStream(scope);
  if (!created.ok()) return created.status();
  std::shared_ptr<CheckpointOutputStream> output(std::move(*created));
  const std::optional<uint64_t> token = snapshot_registry.Register([output] { output->Cancel(); });
  if (!token.has_value()) return absl::CancelledError(absl::StrCat("snapshot cancelled before uploading ", path));

  std::string buffer(kCopyBufferBytes, '\0');
  for (;;) {
    rocksdb::Slice chunk;
    status = FromRocksDbStatus(input->Read(buffer.size(), &chunk, buffer.data()), absl::StrCat("reading ", path));
    if (!status.ok() || chunk.empty()) break;
    status = output->Write(ToStringView(chunk));
    if (!status.ok()) break;
  }
  // Whoever unregisters the stream owns it: if cancellation got there first, the upload is void.
  if (!snapshot_registry.Unregister(*token)) {
    return absl::CancelledError(absl::StrCat("upload of ", path, " cancelled"));
  }
  if (!status.ok()) {
    output->Cancel();
    return status;
  }
  absl::StatusOr<StoredObjectInfo> stored = output->Finish();
  if (!stored.ok()) return stored.status();
  CheckpointStorage* storage = factory.storage();
  const std::string remote = stored->path;
  if (!tmp_resources.Register([storage, remote] { (void)storage->Delete(remote); }).has_value()) {
    // The snapshot failed while this upload ran; the registry already discarded the file.
    return absl::CancelledError(absl::StrCat("snapshot failed while uploading ", path));
  }
  return StreamStateHandle::File(*stored);
}

absl::StatusOr<std::vector<HandleAndLocalPath>> StateUploader::UploadFiles(
    rocksdb::Env* env, const std::string& directory, const std::vector<std::string>& names,
    CheckpointStreamFactory& factory, StateScope scope, CloseableRegistry& snapshot_registry,
    CloseableRegistry& tmp_resources) {
  struct Shared {
    std::mutex mutex;  // real threads in production; one activity at a time in simulation
    std::vector<std::optional<absl::StatusOr<StreamStateHandle>>> results;
    size_t next = 0;
    bool failed = false;
  };
  auto shared = std::make_shared<Shared>();
  shared->results.resize(names.size());
  const int workers = static_cast<int>(std::min<size_t>(transfer_threads_, names.size()));
  std::vector<Future<bool>> done;
  for (int worker = 0; worker < workers; ++worker) {
    done.push_back(SpawnWithResult<bool>(*runtime_, absl::StrCat("upload-", worker), [&, shared]() {
      // Each worker takes the next file until all are taken or one failed (then no new transfer starts).
      for (;;) {
        size_t index;
        {
          std::lock_guard<std::mutex> lock(shared->mutex);
          if (shared->failed || shared->next >= names.size()) return true;
          index = shared->next++;
        }
        absl::StatusOr<StreamStateHandle> result = UploadOne(env, directory + "/" + names[index], factory, scope,
                                                             snapshot_registry, tmp_resources);
        std::lock_guard<std::mutex> lock(shared->mutex);
        if (!result.ok()) shared->failed = true;
        shared->results[index] = std::move(result);
      }
    }));
  }
  for (const Future<bool>& worker : done) worker.Get();  // all transfers end before anyone cleans up
  std::vector<HandleAndLocalPath> uploaded;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!shared->results[i].has_value()) continue;  // never started: an earlier transfer failed
    if (!shared->results[i]->ok()) return shared->results[i]->status();
    uploaded.push_back(HandleAndLocalPath{**shared->results[i], names[i]});
  }
  if (uploaded.size() != names.size()) return absl::AbortedError("upload stopped after a failed transfer");
  return uploaded;
}

}  // namespace snapsim
