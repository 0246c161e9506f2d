#include "sim/job_world.h"

#include <utility>

namespace snapsim {
namespace {

class SimJobMachine : public JobMachine {
 public:
  SimJobMachine(SimScheduler* scheduler, const Prng& prng, const std::string& name,
                std::shared_ptr<const DiskFaultHook> disk_faults)
      : machine_(scheduler, prng, name, uint64_t{8} << 30, std::move(disk_faults)), root_("/" + name) {}
  const std::string& name() const override { return machine_.name(); }
  rocksdb::Env* env() const override { return machine_.env(); }
  std::string root() const override { return root_; }
  void Crash() override { machine_.Crash(); }
  void RestartProcess() override { machine_.RestartProcess(); }
  std::vector<std::string> ListFiles(const std::string& directory) const override {
    return machine_.file_system()->ListFilesRecursively(directory);
  }
  absl::StatusOr<std::vector<std::string>> Corrupt(const std::string& path_contains, int count, Prng prng) override {
    std::vector<std::string> matching;
    for (const std::string& path : machine_.file_system()->ListFilesRecursively(root_)) {
      if (path.find(path_contains) != std::string::npos) matching.push_back(path);
    }
    if (static_cast<int>(matching.size()) > count) matching.erase(matching.begin(), matching.end() - count);
    for (const std::string& path : matching) {
      rocksdb::IOStatus status = machine_.file_system()->CorruptFile(path, prng.NextU64());
      if (!status.ok()) return absl::InternalError(status.ToString());
    }
    return matching;
  }

 private:
  SimMachine machine_;
  const std::string root_;
};

}  // namespace

SimWorld::SimWorld(uint64_t seed, SimSchedulerOptions options)
    : owned_scheduler_(std::make_unique<SimScheduler>(seed, options)),
      owned_store_(std::make_unique<SimObjectStore>(owned_scheduler_.get(), Prng(seed).Child("object-store"))),
      scheduler_(owned_scheduler_.get()),
      storage_(owned_store_.get()) {}

SimWorld::~SimWorld() {
  if (owned_scheduler_ != nullptr) owned_scheduler_->RunUntilQuiescent();
}

std::unique_ptr<JobMachine> SimWorld::NewMachine(const std::string& name, const Prng& prng) {
  return std::make_unique<SimJobMachine>(scheduler_, prng, name, disk_faults_);
}

bool SimWorld::RunUntilQuiescent(std::vector<std::string>* pending) {
  const QuiescenceReport report = scheduler_->RunUntilQuiescent();
  if (pending != nullptr) *pending = report.pending;
  return report.quiescent && report.pending.empty();
}

}  // namespace snapsim
