// What the three parts of the simulated job share (sim_job.cc, sim_job_tasks.cc, sim_job_messages.cc). Internal
// to them; not part of sim_job.h's interface.
#ifndef SNAPSIM_SIM_SIM_JOB_INTERNAL_H_
#define SNAPSIM_SIM_SIM_JOB_INTERNAL_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"

namespace snapsim {
namespace sim_job_internal {

// A restart or stop of the job master: the epoch moves when it begins and when it ends, so a reaction to a failure
// noticed before it (EnterRestarting) or during it does nothing: the restart answers that failure.
class RestartEpoch {
 public:
  explicit RestartEpoch(uint64_t* epoch) : epoch_(epoch) { ++*epoch_; }
  ~RestartEpoch() { ++*epoch_; }
  RestartEpoch(const RestartEpoch&) = delete;
  RestartEpoch& operator=(const RestartEpoch&) = delete;

 private:
  uint64_t* epoch_;
};

// A copy of `status` that shares no heap representation with it (code, message and payloads copied). A decline
// message carries its reason to another thread while the task may free the snapshot's Future that holds the
// original: absl::Status's shared representation is freed inside uninstrumented libabsl_status, whose ordering
// ThreadSanitizer cannot see (a false report under --config=tsan), so the message gets its own.
inline absl::Status Unshared(const absl::Status& status) {
  absl::Status copy(status.code(), std::string(status.message()));
  status.ForEachPayload([&copy](absl::string_view type_url, const absl::Cord& payload) {
    copy.SetPayload(type_url, absl::Cord(std::string(payload)));
  });
  return copy;
}

}  // namespace sim_job_internal
}  // namespace snapsim

#endif  // SNAPSIM_SIM_SIM_JOB_INTERNAL_H_
