#include "backend/cancellation.h"

#include "absl/strings/str_cat.h"

namespace snapsim {

void CancellationToken::Cancel(absl::string_view reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cancelled_.load(std::memory_order_relaxed)) return;
  reason_ = std::string(reason);
  cancelled_.store(true, std::memory_order_release);
}

absl::Status CancellationToken::Check(absl::string_view what) const {
  if (!cancelled()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mutex_);
  return absl::CancelledError(absl::StrCat(what, " cancelled: ", reason_));
}

}  // namespace snapsim
