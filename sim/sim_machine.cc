#include "sim/sim_machine.h"

#include "absl/strings/str_cat.h"

namespace snapsim {

SimMachine::SimMachine(SimScheduler* scheduler, const Prng& prng, std::string name, uint64_t disk_capacity_bytes)
    : scheduler_(scheduler), prng_(prng.Child(name)), name_(std::move(name)) {
  SimFileSystemOptions options;
  options.machine = name_;
  options.capacity_bytes = disk_capacity_bytes;
  options.now_micros = [scheduler] { return scheduler->NowMicros(); };
  Boot(SimFileSystem::Create(options));
}

void SimMachine::Boot(std::shared_ptr<SimFileSystem> file_system) {
  ++boots_;
  file_system_ = std::move(file_system);
  const std::string component = absl::StrCat("fs:", name_);
  SimScheduler* scheduler = scheduler_;
  file_system_->SetObserver([scheduler, component](const FsOperation& operation, const rocksdb::IOStatus& status) {
    std::string event = absl::StrCat(FsOperationKindName(operation.kind), " ", operation.path);
    if (!operation.target_path.empty()) absl::StrAppend(&event, " -> ", operation.target_path);
    if (operation.size > 0) absl::StrAppend(&event, " ", operation.size);
    if (!status.ok()) absl::StrAppend(&event, " FAILED");
    scheduler->RecordTrace(component, event);
  });
  env_ = std::make_unique<SimEnv>(scheduler_, file_system_, prng_.Child(absl::StrCat("boot-", boots_)));
}

void SimMachine::Crash() {
  scheduler_->RecordTrace(absl::StrCat("machine:", name_), "crash");
  std::shared_ptr<SimFileSystem> rebooted = file_system_->Crash();
  crashed_envs_.push_back(std::move(env_));
  Boot(std::move(rebooted));
}

}  // namespace snapsim
