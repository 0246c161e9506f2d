// The job manager's I/O executor: where deletions and other storage work of the coordinator side run, each job as
// its own activity on the runtime. Stop() models the process dying: work not yet started never runs, so a crashed
// coordinator deletes nothing more.
#ifndef SNAPSIM_SNAPSHOT_IO_EXECUTOR_H_
#define SNAPSIM_SNAPSHOT_IO_EXECUTOR_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "backend/runtime.h"

namespace snapsim {

class IoExecutor {
 public:
  explicit IoExecutor(Runtime* runtime) : runtime_(runtime), stopped_(std::make_shared<std::atomic<bool>>(false)) {}

  void Execute(std::string name, std::function<void()> work) {
    if (stopped_->load()) return;
    runtime_->Spawn(std::move(name), [stopped = stopped_, work = std::move(work)] {
      if (!stopped->load()) work();
    });
  }
  void Stop() { stopped_->store(true); }
  bool stopped() const { return stopped_->load(); }
  Runtime* runtime() const { return runtime_; }

 private:
  Runtime* runtime_;
  std::shared_ptr<std::atomic<bool>> stopped_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_IO_EXECUTOR_H_
