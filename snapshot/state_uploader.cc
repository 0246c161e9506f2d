#include "snapshot/state_uploader.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "backend/rocksdb_status.h"
#include "snapshot/parallel_transfers.h"

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
  absl::StatusOr<std::unique_ptr<StateOutputStream>> created = factory.CreateStream(scope);
  if (!created.ok()) return created.status();
  std::shared_ptr<StateOutputStream> output(std::move(*created));
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
  absl::StatusOr<StreamStateHandle> handle = output->CloseAndGetHandle();
  if (!handle.ok()) return handle.status();
  CheckpointStorage* storage = factory.storage();
  const std::string remote = handle->path;
  const bool in_storage = handle->in_storage();
  if (!tmp_resources.Register([storage, remote, in_storage] {
        if (in_storage) (void)storage->Delete(remote);
      }).has_value()) {
    // The snapshot failed while this upload ran; the registry already discarded the file.
    return absl::CancelledError(absl::StrCat("snapshot failed while uploading ", path));
  }
  return handle;
}

absl::StatusOr<std::vector<HandleAndLocalPath>> StateUploader::UploadFiles(
    rocksdb::Env* env, const std::string& directory, const std::vector<std::string>& names,
    CheckpointStreamFactory& factory, StateScope scope, CloseableRegistry& snapshot_registry,
    CloseableRegistry& tmp_resources) {
  std::vector<StreamStateHandle> handles(names.size());
  const std::vector<std::optional<absl::Status>> outcomes =
      RunParallelTransfers(*runtime_, "upload", names.size(), transfer_threads_, [&](size_t index) -> absl::Status {
        absl::StatusOr<StreamStateHandle> handle =
            UploadOne(env, directory + "/" + names[index], factory, scope, snapshot_registry, tmp_resources);
        if (!handle.ok()) return handle.status();
        handles[index] = *std::move(handle);
        return absl::OkStatus();
      });
  if (absl::Status failed = TransfersOutcome(outcomes, nullptr, "uploads"); !failed.ok()) return failed;
  std::vector<HandleAndLocalPath> uploaded;
  for (size_t i = 0; i < names.size(); ++i) uploaded.push_back(HandleAndLocalPath{handles[i], names[i]});
  return uploaded;
}

}  // namespace snapsim
