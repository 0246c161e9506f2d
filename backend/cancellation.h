// A cancellation flag shared between whoever may cancel a long operation (a task being cancelled because another
// task of its job failed, the job being cancelled) and the operation itself, which checks it at its safe points.
// Flink's equivalent for a restore is the backend builder's cancelStreamRegistry: cancelling a task closes the
// streams its restore reads, and the restore fails with a cancellation (RocksDBIncrementalRestoreOperation,
// RocksDBStateDownloader). Here a restore checks the token before each download, after each read and before each
// step that is not one; a transfer already reading ends at its next check, and the caller still waits for every
// transfer in flight before it deletes their directory (FLINK-32681).
//
// Thread-safe; never blocks (no lock is held across anything but the reason's copy), so it may be checked from
// simulated activities.
#ifndef SNAPSIM_BACKEND_CANCELLATION_H_
#define SNAPSIM_BACKEND_CANCELLATION_H_

#include <atomic>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace snapsim {

class CancellationToken {
 public:
  // The first call's reason is kept; later calls change nothing.
  void Cancel(absl::string_view reason);
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  // OK while not cancelled; else Cancelled "<what> cancelled: <reason>".
  absl::Status Check(absl::string_view what) const;

 private:
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mutex_;
  std::string reason_;
};

// Check on a token that may be absent (nothing can cancel the operation).
inline absl::Status CheckNotCancelled(const CancellationToken* token, absl::string_view what) {
  return token == nullptr ? absl::OkStatus() : token->Check(what);
}

}  // namespace snapsim

#endif  // SNAPSIM_BACKEND_CANCELLATION_H_
