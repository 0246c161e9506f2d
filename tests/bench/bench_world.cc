#include "tests/bench/bench_world.h"

#include "absl/strings/str_cat.h"
#include "backend/local_files.h"
#include "sim/sim_machine.h"
#include "sim/sim_object_store.h"
#include "sim/sim_scheduler.h"
#include "snapshot/checkpoint_stream_factory.h"
#include "snapshot/directory_checkpoint_storage.h"

namespace snapsim {
namespace bench {
namespace {

class SimulatedSide : public BenchSide {
 public:
  SimulatedSide()
      : scheduler_(1), machine_(&scheduler_, Prng(1), "tm-0"), store_(&scheduler_, Prng(1).Child("store")),
        uploader_(&scheduler_, 4) {}
  ~SimulatedSide() override { scheduler_.RunUntilQuiescent(); }

  const char* name() const override { return "simulated"; }
  Runtime& runtime() override { return scheduler_; }
  CheckpointStorage& storage() override { return store_; }
  StateUploader& uploader() override { return uploader_; }
  KeyedStateBackendConfig Config(const std::string& instance) override {
    KeyedStateBackendConfig config;
    config.env = machine_.env();
    config.runtime = &scheduler_;
    config.instance_path = "/tm-0/" + instance;
    config.preset = OptionsPreset::kSimulation;
    config.backend_uid = "bench-" + instance;
    return config;
  }
  void Settle() override { scheduler_.RunUntilQuiescent(); }

 private:
  SimScheduler scheduler_;
  SimMachine machine_;
  SimObjectStore store_;
  StateUploader uploader_;
};

class RealDiskSide : public BenchSide {
 public:
  explicit RealDiskSide(std::string base)
      : base_(std::move(base)), storage_(base_ + "/checkpoints"), uploader_(&runtime_, 4) {}
  ~RealDiskSide() override { (void)DeleteRecursively(rocksdb::Env::Default(), base_); }

  const char* name() const override { return "real disk"; }
  Runtime& runtime() override { return runtime_; }
  CheckpointStorage& storage() override { return storage_; }
  StateUploader& uploader() override { return uploader_; }
  KeyedStateBackendConfig Config(const std::string& instance) override {
    KeyedStateBackendConfig config;
    config.env = rocksdb::Env::Default();
    config.runtime = &runtime_;
    config.instance_path = base_ + "/" + instance;
    config.preset = OptionsPreset::kRealDisk;
    config.backend_uid = "bench-" + instance;
    return config;
  }
  void Settle() override {}

 private:
  std::string base_;
  ThreadRuntime runtime_;
  DirectoryCheckpointStorage storage_;
  StateUploader uploader_;
};

std::string FreshDirectory(const std::string& parent) {
  static int counter = 0;
  const std::string path = absl::StrCat(parent, "/snapsim-bench-", getpid(), "-", counter++);
  (void)DeleteRecursively(rocksdb::Env::Default(), path);
  Must(rocksdb::Env::Default()->CreateDirIfMissing(path).ok() ? absl::OkStatus()
                                                              : absl::InternalError("cannot create " + path),
       "creating the real-disk directory");
  return path;
}

}  // namespace

std::unique_ptr<BenchSide> BenchSide::Simulated() { return std::make_unique<SimulatedSide>(); }

std::unique_ptr<BenchSide> BenchSide::RealDisk(const std::string& directory) {
  return std::make_unique<RealDiskSide>(FreshDirectory(directory));
}

absl::StatusOr<uint64_t> FillState(KeyedStateBackend& backend, uint64_t bytes, uint64_t first_key, char fill) {
  for (const auto& [name, kind] : {std::pair<const char*, StateKind>{"count", StateKind::kValue},
                                   {"events", StateKind::kList},
                                   {"attributes", StateKind::kMap}}) {
    bool known = false;
    for (const StateMetaInfo& info : backend.MetaInfos()) known |= info.name == name;
    if (!known) {
      if (absl::Status status = backend.RegisterState(name, kind); !status.ok()) return status;
    }
  }
  // Values do not compress (RocksDB compresses SST blocks, the canonical stream does not): 100 bytes from a
  // xorshift stream seeded by the key and `fill`, so a rewrite with another `fill` changes every value.
  std::string value(100, fill);
  const uint64_t entries = bytes / 100;
  for (uint64_t i = 0; i < entries; ++i) {
    const uint64_t key = first_key + i;
    uint64_t x = (key + 1) * 0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(static_cast<unsigned char>(fill)) << 56;
    for (size_t b = 0; b < value.size(); b += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      for (size_t k = 0; k < 8 && b + k < value.size(); ++k) value[b + k] = static_cast<char>(x >> (8 * k));
    }
    if (absl::Status status = backend.SetCurrentKey(absl::StrCat("key-", key)); !status.ok()) return status;
    absl::Status status;
    switch (key % 3) {
      case 0: status = backend.PutValue("count", value); break;
      case 1: status = backend.AppendToList("events", value); break;
      default: status = backend.PutMapEntry("attributes", absl::StrCat("field-", key % 7), value); break;
    }
    if (!status.ok()) return status;
  }
  if (absl::Status status = backend.Flush(); !status.ok()) return status;
  return entries;
}

absl::StatusOr<SnapshotResult> TakeSnapshot(BenchSide& side, SnapshotStrategyBase& strategy, int64_t id) {
  absl::StatusOr<SnapshotRunner::Running> running =
      SnapshotRunner::Snapshot(strategy, side.runtime(), id,
                               CheckpointStreamFactory::ForCheckpoint(&side.storage(), &side.runtime(), "job", id),
                               SnapshotType::kCheckpoint);
  if (!running.ok()) return running.status();
  return running->result.Get();
}

}  // namespace bench
}  // namespace snapsim
