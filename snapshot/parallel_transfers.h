// The transfer worker pattern of Flink's RocksDBStateUploader / RocksDBStateDownloader with the fixes of FLINK-32681:
// `count` transfers run on at most `threads` activities (named "<name>-<worker>"), each worker taking the next index
// until all are taken or one transfer failed (then no new one starts), and the caller returns only after every
// transfer in flight ended, so its cleanup never races one. Used by uploads (state_uploader.h) and restore downloads
// (incremental_restore_operation.h).
#ifndef SNAPSIM_SNAPSHOT_PARALLEL_TRANSFERS_H_
#define SNAPSIM_SNAPSHOT_PARALLEL_TRANSFERS_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "backend/runtime.h"

namespace snapsim {

// Runs transfer(i) for i in [0, count); returns each one's outcome in index order, nullopt for a transfer never
// started because an earlier one failed.
std::vector<std::optional<absl::Status>> RunParallelTransfers(Runtime& runtime, const std::string& name, size_t count,
                                                              int threads,
                                                              const std::function<absl::Status(size_t)>& transfer);

// The first failure in index order, or OK if every transfer ran and succeeded (Aborted if some never started and
// none failed, which RunParallelTransfers never returns).
absl::Status FirstTransferFailure(const std::vector<std::optional<absl::Status>>& outcomes);

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_PARALLEL_TRANSFERS_H_
