// The transfer worker pattern of Flink's RocksDBStateUploader / RocksDBStateDownloader with the fixes of FLINK-32681:
// `count` transfers run on at most `threads` activities (named "<name>-<worker>"), each worker taking the next index
// until all are taken, one transfer failed or the operation was cancelled (then no new one starts), and the caller
// returns only after every transfer in flight ended, so its cleanup never races one. Used by uploads
// (state_uploader.h), restore downloads (incremental_restore_operation.h) and the simulated job's deployments.
#ifndef SNAPSIM_SNAPSHOT_PARALLEL_TRANSFERS_H_
#define SNAPSIM_SNAPSHOT_PARALLEL_TRANSFERS_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "backend/cancellation.h"
#include "backend/runtime.h"

namespace snapsim {

// Runs transfer(i) for i in [0, count); returns each one's outcome in index order, nullopt for a transfer never
// started because an earlier one failed or `cancellation` (may be null) was cancelled. A transfer that is running
// when the token is cancelled checks it itself (it knows its safe points).
std::vector<std::optional<absl::Status>> RunParallelTransfers(Runtime& runtime, const std::string& name, size_t count,
                                                              int threads,
                                                              const std::function<absl::Status(size_t)>& transfer,
                                                              const CancellationToken* cancellation = nullptr);

// What the transfers come to: the first failure in index order that is not a cancellation (the cause, never a
// follow-on error, FLINK-39998); else the cancellation if `cancellation` was cancelled (whether or not a transfer
// ran into it), `what` naming the operation; else the first cancelled transfer's error; else OK if every transfer ran
// (Aborted if some never started, which RunParallelTransfers does only after a failure or a cancellation).
absl::Status TransfersOutcome(const std::vector<std::optional<absl::Status>>& outcomes,
                              const CancellationToken* cancellation = nullptr, const std::string& what = "transfers");

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_PARALLEL_TRANSFERS_H_
