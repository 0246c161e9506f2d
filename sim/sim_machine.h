// A simulated machine: its local disk (SimFileSystem) and its Env, with every disk operation fed to the run's
// trace. Crash() is power loss: the disk keeps only what was durable and a fresh Env boots on it. A disk fault hook
// (faults/: disk-fails, disk-full) is asked before every disk operation, on the disk as it boots after a crash too.
#ifndef SNAPSIM_SIM_SIM_MACHINE_H_
#define SNAPSIM_SIM_SIM_MACHINE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/sim_env.h"
#include "sim/sim_file_system.h"
#include "sim/sim_scheduler.h"

namespace snapsim {

// Asked before every operation on a machine's disk, with the machine's name: OK lets it proceed.
using DiskFaultHook = std::function<rocksdb::IOStatus(const std::string& machine, const FsOperation&)>;

class SimMachine {
 public:
  // `disk_faults`, if given, is read at every disk operation (a slot the world owns and fills; it must outlive the
  // machine).
  SimMachine(SimScheduler* scheduler, const Prng& prng, std::string name,
             uint64_t disk_capacity_bytes = uint64_t{8} << 30,
             std::shared_ptr<const DiskFaultHook> disk_faults = nullptr);

  const std::string& name() const { return name_; }
  SimEnv* env() const { return env_.get(); }
  SimFileSystem* file_system() const { return file_system_.get(); }

  // Power loss. Whatever still uses the old Env (a DB that was open) fails from now on; the old Env stays alive
  // until this machine is destroyed, so such objects can still be torn down.
  void Crash();
  // The machine's process dies and a new one starts: the disk keeps everything (synced or not); whatever still uses
  // the old Env fails from now on, as for Crash.
  void RestartProcess();

 private:
  void Boot(std::shared_ptr<SimFileSystem> file_system);

  SimScheduler* scheduler_;
  Prng prng_;
  const std::string name_;
  int boots_ = 0;
  std::shared_ptr<const DiskFaultHook> disk_faults_;
  std::shared_ptr<SimFileSystem> file_system_;
  std::unique_ptr<SimEnv> env_;
  std::vector<std::unique_ptr<SimEnv>> crashed_envs_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_SIM_MACHINE_H_
