#include "sim/sim_machine.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace snapsim {

SimMachine::SimMachine(SimScheduler* scheduler, const Prng& prng, std::string name, uint64_t disk_capacity_bytes,
                       std::shared_ptr<const DiskFaultHook> disk_faults)
    : scheduler_(scheduler), prng_(prng.Child(name)), name_(std::move(name)), disk_faults_(std::move(disk_faults)) {
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
    // A probe of a file that is not there is the disk answering, not failing: " absent", not " FAILED".
    const bool absent = status.IsNotFound() && !absl::StrContains(status.ToString(), "[injected]");
    if (absent) {
      absl::StrAppend(&event, " absent");
    } else if (!status.ok()) {
      absl::StrAppend(&event, " FAILED");
      // faults/' marker: an injected failure shows as such.
      if (absl::StrContains(status.ToString(), "[injected]")) absl::StrAppend(&event, " INJECTED");
    }
    // Arguments only for a trace that keeps its events (--trace_out): a sweep's thousands of disk operations per
    // seed would spend a fifth of its time building them (measured: 40 swarm seeds, 43.5 s with, 35.1 s without).
    TraceArgs args;
    if (scheduler->trace().keeps_events()) {
      args = {{"op", std::string(FsOperationKindName(operation.kind))}, {"path", operation.path}};
      if (!operation.target_path.empty()) args.push_back({"target", operation.target_path});
      if (operation.size > 0) args.push_back({"bytes", absl::StrCat(operation.size)});
      args.push_back({"status", absent ? "absent" : status.ok() ? "OK" : status.ToString()});
    }
    scheduler->RecordTrace(component, event, 0, std::move(args));
  });
  if (disk_faults_ != nullptr) {
    // Never on the blocking-call helper: an error there would race with the woken caller (sim_scheduler.h).
    file_system_->SetFaultHook([hook = disk_faults_, name = name_](const FsOperation& operation) {
      if (!*hook || SimScheduler::OnBlockingCallHelper()) return rocksdb::IOStatus::OK();
      return (*hook)(name, operation);
    });
  }
  env_ = std::make_unique<SimEnv>(scheduler_, file_system_, prng_.Child(absl::StrCat("boot-", boots_)));
}

void SimMachine::Crash() {
  scheduler_->RecordTrace(absl::StrCat("machine:", name_), "crash");
  std::shared_ptr<SimFileSystem> rebooted = file_system_->Crash();
  crashed_envs_.push_back(std::move(env_));
  Boot(std::move(rebooted));
}

void SimMachine::RestartProcess() {
  scheduler_->RecordTrace(absl::StrCat("machine:", name_), "process restart");
  std::shared_ptr<SimFileSystem> restarted = file_system_->RestartProcess();
  crashed_envs_.push_back(std::move(env_));
  Boot(std::move(restarted));
}

}  // namespace snapsim
