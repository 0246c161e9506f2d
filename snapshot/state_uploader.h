// Uploads the files of a native RocksDB checkpoint to checkpoint storage with N parallel transfers on the
// runtime. Follows Flink's RocksDBStateUploader with the fixes of FLINK-30461 (every uploaded file is registered
// for discard until the snapshot completes, so a failed or cancelled snapshot deletes exactly what it uploaded)
// and FLINK-32681 (the caller waits for every transfer before it cleans up, so no upload lands after cleanup).
#ifndef SNAPSIM_SNAPSHOT_STATE_UPLOADER_H_
#define SNAPSIM_SNAPSHOT_STATE_UPLOADER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "backend/runtime.h"
#include "rocksdb/env.h"
#include "snapshot/checkpoint_stream_factory.h"
#include "snapshot/closeable_registry.h"
#include "snapshot/state_handles.h"

namespace snapsim {

class StateUploader {
 public:
  // `transfer_threads`: parallel transfers (Flink's state.backend.rocksdb.checkpoint.transfer.thread.num, 4).
  StateUploader(Runtime* runtime, int transfer_threads);

  // Uploads <directory>/<name> for every name, in `scope`, returning (handle, name) in the order given.
  // Open streams are registered in `snapshot_registry` (closing it cancels the uploads); every finished upload
  // registers its discard in `tmp_resources`. On failure, the first failed file's error (in the order given).
  absl::StatusOr<std::vector<HandleAndLocalPath>> UploadFiles(rocksdb::Env* env, const std::string& directory,
                                                              const std::vector<std::string>& names,
                                                              CheckpointStreamFactory& factory, StateScope scope,
                                                              CloseableRegistry& snapshot_registry,
                                                              CloseableRegistry& tmp_resources);

 private:
  absl::StatusOr<StreamStateHandle> UploadOne(rocksdb::Env* env, const std::string& path,
                                              CheckpointStreamFactory& factory, StateScope scope,
                                              CloseableRegistry& snapshot_registry, CloseableRegistry& tmp_resources);

  Runtime* runtime_;
  int transfer_threads_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_STATE_UPLOADER_H_
