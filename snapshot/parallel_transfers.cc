#include "snapshot/parallel_transfers.h"

#include <algorithm>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace snapsim {

std::vector<std::optional<absl::Status>> RunParallelTransfers(Runtime& runtime, const std::string& name, size_t count,
                                                              int threads,
                                                              const std::function<absl::Status(size_t)>& transfer,
                                                              const CancellationToken* cancellation) {
  struct Shared {
    std::mutex mutex;  // real threads in production; one activity at a time in simulation
    std::vector<std::optional<absl::Status>> outcomes;
    size_t next = 0;
    bool failed = false;
  };
  auto shared = std::make_shared<Shared>();
  shared->outcomes.resize(count);
  const int workers = static_cast<int>(std::min<size_t>(std::max(1, threads), count));
  std::vector<Future<bool>> done;
  for (int worker = 0; worker < workers; ++worker) {
    auto work = [&transfer, shared, count, cancellation]() {
      for (;;) {
        size_t index;
        {
          std::lock_guard<std::mutex> lock(shared->mutex);
          if (shared->failed || shared->next >= count) return true;
          if (cancellation != nullptr && cancellation->cancelled()) return true;
          index = shared->next++;
        }
        absl::Status outcome = transfer(index);
        std::lock_guard<std::mutex> lock(shared->mutex);
        if (!outcome.ok()) shared->failed = true;
        shared->outcomes[index] = std::move(outcome);
      }
    };
    done.push_back(SpawnWithResult<bool>(runtime, absl::StrCat(name, "-", worker), work));
  }
  for (const Future<bool>& worker : done) worker.Get();  // every transfer ends before anyone cleans up
  return std::move(shared->outcomes);
}

absl::Status TransfersOutcome(const std::vector<std::optional<absl::Status>>& outcomes,
                              const CancellationToken* cancellation, const std::string& what) {
  bool all_ran = true;
  std::optional<absl::Status> first_cancelled;
  for (const std::optional<absl::Status>& outcome : outcomes) {
    if (!outcome.has_value()) {
      all_ran = false;
    } else if (absl::IsCancelled(*outcome)) {
      if (!first_cancelled.has_value()) first_cancelled = *outcome;
    } else if (!outcome->ok()) {
      return *outcome;
    }
  }
  if (absl::Status status = CheckNotCancelled(cancellation, what); !status.ok()) return status;
  if (first_cancelled.has_value()) return *first_cancelled;
  return all_ran ? absl::OkStatus() : absl::AbortedError(absl::StrCat(what, " stopped after a failed transfer"));
}

}  // namespace snapsim
