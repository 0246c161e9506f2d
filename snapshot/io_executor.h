// The job manager's I/O executor: where deletions and other storage work of the coordinator side run, each job as
// its own activity on the runtime. Stop() models the process dying: work not yet started never runs, so a crashed
// coordinator deletes nothing more. Each job may name the storage paths it would delete (a trailing '/' names
// everything under a directory), so a checker can tell what a dead coordinator left behind from a leak.
#ifndef SNAPSIM_SNAPSHOT_IO_EXECUTOR_H_
#define SNAPSIM_SNAPSHOT_IO_EXECUTOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "backend/runtime.h"

namespace snapsim {

class IoExecutor {
 public:
  explicit IoExecutor(Runtime* runtime) : runtime_(runtime), state_(std::make_shared<State>()) {}

  void Execute(std::string name, std::function<void()> work, std::vector<std::string> paths = {}) {
    uint64_t id;
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      id = state_->next_id++;
      state_->not_started[id] = std::move(paths);
      if (state_->stopped) return;
    }
    runtime_->Spawn(std::move(name), [state = state_, id, work = std::move(work)] {
      {
        std::lock_guard<std::mutex> lock(state->mutex);
        if (state->stopped) return;
        state->not_started.erase(id);
      }
      work();
    });
  }

  void Stop() {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stopped = true;
  }
  bool stopped() const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->stopped;
  }
  // The paths named by work that has not started (after Stop: never will).
  std::vector<std::string> NotStartedPaths() const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    std::vector<std::string> paths;
    for (const auto& [id, work_paths] : state_->not_started) paths.insert(paths.end(), work_paths.begin(), work_paths.end());
    return paths;
  }
  Runtime* runtime() const { return runtime_; }

 private:
  struct State {
    mutable std::mutex mutex;
    bool stopped = false;
    uint64_t next_id = 0;
    std::map<uint64_t, std::vector<std::string>> not_started;
  };
  Runtime* runtime_;
  std::shared_ptr<State> state_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_IO_EXECUTOR_H_
