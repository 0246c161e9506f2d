// Benchmark (prints figures; never a pass/fail test): the RocksDB cycle "open, 2 x 10k puts, flush, native
// checkpoint, reopen from the checkpoint, verify" on SimFileSystem (simulated world) and on a real temporary
// directory with fsync (RocksDB's own threads), side by side as a ratio; plus create, link and fsync costs on both.
// Goal (issue 3): the simulated cycle at least 3x faster than real disk.
//
//   bazel run -c opt //sim:sim_file_system_benchmark -- [--repetitions=N] [--directory=/path/on/real/disk]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "backend/backend_options.h"
#include "backend/runtime.h"
#include "rocksdb/db.h"
#include "rocksdb/file_system.h"
#include "rocksdb/utilities/checkpoint.h"
#include "sim/sim_machine.h"
#include "sim/sim_scheduler.h"

namespace snapsim {
namespace {

using Clock = std::chrono::steady_clock;

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void Check(const rocksdb::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "benchmark: %s failed: %s\n", what, status.ToString().c_str());
    std::exit(1);
  }
}

void Check(const rocksdb::IOStatus& status, const char* what) { Check(rocksdb::Status(status), what); }

// Milliseconds of one cycle: the puts (RocksDB memtable CPU work, the same on both sides) and everything else
// (flush, checkpoint, close, reopen, verify: where the file system matters).
struct CycleTimes {
  double puts_ms = 0;
  double rest_ms = 0;
  double total() const { return puts_ms + rest_ms; }
};

CycleTimes Median(std::vector<CycleTimes> values) {
  std::sort(values.begin(), values.end(),
            [](const CycleTimes& a, const CycleTimes& b) { return a.total() < b.total(); });
  return values[values.size() / 2];
}

// One cycle on `env` under `base`; blocking RocksDB calls go through `runtime`.
CycleTimes RocksDbCycle(rocksdb::Env* env, Runtime& runtime, const std::string& base, OptionsPreset preset) {
  CycleTimes times;
  Clock::time_point start = Clock::now();
  rocksdb::DBOptions options = MakeDbOptions(preset);
  options.env = env;
  options.use_fsync = true;
  const rocksdb::ColumnFamilyOptions cf_options = MakeColumnFamilyOptions(preset);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, cf_options}, {"first", cf_options}, {"second", cf_options}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  Check(rocksdb::DB::Open(options, base + "/db", descriptors, &handles, &raw), "open");
  std::unique_ptr<rocksdb::DB> db(raw);
  const rocksdb::WriteOptions write = MakeWriteOptions();
  times.rest_ms += MillisecondsSince(start);
  start = Clock::now();
  for (int i = 0; i < 10000; ++i) {
    const std::string key = "key-" + std::to_string(i);
    Check(db->Put(write, handles[1], key, "value-one-" + std::to_string(i)), "put");
    Check(db->Put(write, handles[2], key, "value-two-" + std::to_string(i)), "put");
  }
  times.puts_ms = MillisecondsSince(start);
  start = Clock::now();
  Check(runtime.RunBlockingRocksDbCall([&] { return db->Flush(rocksdb::FlushOptions(), handles); }), "flush");
  rocksdb::Checkpoint* checkpoint = nullptr;
  Check(rocksdb::Checkpoint::Create(db.get(), &checkpoint), "checkpoint object");
  Check(runtime.RunBlockingRocksDbCall([&] { return checkpoint->CreateCheckpoint(base + "/chk"); }), "checkpoint");
  delete checkpoint;
  for (auto* handle : handles) Check(db->DestroyColumnFamilyHandle(handle), "release handle");
  Check(runtime.RunBlockingRocksDbCall([&] { return db->Close(); }), "close");
  db.reset();
  handles.clear();
  Check(rocksdb::DB::Open(options, base + "/chk", descriptors, &handles, &raw), "reopen");
  db.reset(raw);
  std::string value;
  for (int i = 0; i < 10000; i += 97) {
    Check(db->Get(rocksdb::ReadOptions(), handles[2], "key-" + std::to_string(i), &value), "verify");
    if (value != "value-two-" + std::to_string(i)) {
      std::fprintf(stderr, "benchmark: wrong value after reopen\n");
      std::exit(1);
    }
  }
  for (auto* handle : handles) Check(db->DestroyColumnFamilyHandle(handle), "release handle");
  Check(runtime.RunBlockingRocksDbCall([&] { return db->Close(); }), "close");
  times.rest_ms += MillisecondsSince(start);
  return times;
}

void RemoveTree(rocksdb::FileSystem* fs, const std::string& path) {
  std::vector<std::string> children;
  if (!fs->GetChildren(path, rocksdb::IOOptions(), &children, nullptr).ok()) return;
  for (const std::string& child : children) {
    bool is_directory = false;
    const std::string full = path + "/" + child;
    if (fs->IsDirectory(full, rocksdb::IOOptions(), &is_directory, nullptr).ok() && is_directory) {
      RemoveTree(fs, full);
    } else {
      fs->DeleteFile(full, rocksdb::IOOptions(), nullptr);
    }
  }
  fs->DeleteDir(path, rocksdb::IOOptions(), nullptr);
}

struct MicroCosts {
  double create_sync_micros;
  double link_micros;
  double fsync_dir_micros;
};

MicroCosts MeasureMicro(rocksdb::FileSystem* fs, const std::string& base) {
  constexpr int kFiles = 300;
  const rocksdb::IOOptions io;
  Check(fs->CreateDirIfMissing(base, io, nullptr), "mkdir");
  Check(fs->CreateDirIfMissing(base + "/links", io, nullptr), "mkdir");
  const std::string block(4096, 'x');
  Clock::time_point start = Clock::now();
  for (int i = 0; i < kFiles; ++i) {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    Check(fs->NewWritableFile(base + "/f" + std::to_string(i), rocksdb::FileOptions(), &file, nullptr), "create");
    Check(file->Append(block, io, nullptr), "append");
    Check(file->Sync(io, nullptr), "sync");
    Check(file->Close(io, nullptr), "close");
  }
  MicroCosts costs{};
  costs.create_sync_micros = MillisecondsSince(start) * 1000 / kFiles;
  start = Clock::now();
  for (int i = 0; i < kFiles; ++i) {
    Check(fs->LinkFile(base + "/f" + std::to_string(i), base + "/links/f" + std::to_string(i), io, nullptr), "link");
  }
  costs.link_micros = MillisecondsSince(start) * 1000 / kFiles;
  std::unique_ptr<rocksdb::FSDirectory> directory;
  Check(fs->NewDirectory(base, io, &directory, nullptr), "open dir");
  start = Clock::now();
  for (int i = 0; i < kFiles; ++i) Check(directory->Fsync(io, nullptr), "fsync dir");
  costs.fsync_dir_micros = MillisecondsSince(start) * 1000 / kFiles;
  return costs;
}

int Run(int repetitions, const std::string& real_directory, const std::string& json_path) {
  std::vector<CycleTimes> simulated;
  std::vector<CycleTimes> real;
  MicroCosts simulated_micro{};
  MicroCosts real_micro{};
  auto real_fs = rocksdb::FileSystem::Default();
  for (int repetition = 0; repetition < repetitions; ++repetition) {
    {
      SimScheduler scheduler(static_cast<uint64_t>(repetition) + 1);
      SimMachine machine(&scheduler, Prng(1), "bench");
      // SimFileSystem creates no parent directories (as a real file system): the base directory first.
      Check(machine.file_system()->CreateDirIfMissing("/bench", rocksdb::IOOptions(), nullptr), "mkdir /bench");
      CycleTimes times = RocksDbCycle(machine.env(), scheduler, "/bench", OptionsPreset::kSimulation);
      const Clock::time_point drain = Clock::now();
      scheduler.RunUntilQuiescent();
      times.rest_ms += MillisecondsSince(drain);
      simulated.push_back(times);
      if (repetition == 0) simulated_micro = MeasureMicro(machine.file_system(), "/micro");
    }
    {
      const std::string base = real_directory + "/snapsim-benchmark-" + std::to_string(repetition);
      RemoveTree(real_fs.get(), base);
      Check(real_fs->CreateDirIfMissing(base, rocksdb::IOOptions(), nullptr), "mkdir");
      ThreadRuntime runtime;
      real.push_back(RocksDbCycle(rocksdb::Env::Default(), runtime, base, OptionsPreset::kRealDisk));
      if (repetition == 0) real_micro = MeasureMicro(real_fs.get(), base + "/micro");
      RemoveTree(real_fs.get(), base);
    }
  }
  const CycleTimes sim = Median(simulated);
  const CycleTimes disk = Median(real);
  std::printf("RocksDB cycle: open, 2x10k puts, flush, checkpoint, reopen, verify (median of %d)\n", repetitions);
  std::printf("  %-28s %10s %10s %10s\n", "", "total", "puts", "rest");
  std::printf("  %-28s %8.1fms %8.1fms %8.1fms\n", "SimFileSystem (simulated)", sim.total(), sim.puts_ms,
              sim.rest_ms);
  std::printf("  %-28s %8.1fms %8.1fms %8.1fms   (%s)\n", "real disk with fsync", disk.total(), disk.puts_ms,
              disk.rest_ms, real_directory.c_str());
  std::printf("  %-28s %9.2fx %9.2fx %9.2fx   (goal for the total: >= 3x)\n", "speed-up",
              disk.total() / sim.total(), disk.puts_ms / sim.puts_ms, disk.rest_ms / sim.rest_ms);
  std::printf("  (puts are RocksDB memtable work, identical on both sides; \"rest\" is where the file system acts)\n");
  std::printf("Per-operation cost (300 operations, 4 KiB files)\n");
  std::printf("  %-28s %12s %12s\n", "operation", "simulated", "real disk");
  std::printf("  %-28s %10.1fus %10.1fus\n", "create+append+sync+close", simulated_micro.create_sync_micros,
              real_micro.create_sync_micros);
  std::printf("  %-28s %10.1fus %10.1fus\n", "hard link", simulated_micro.link_micros, real_micro.link_micros);
  std::printf("  %-28s %10.1fus %10.1fus\n", "fsync directory", simulated_micro.fsync_dir_micros,
              real_micro.fsync_dir_micros);
  // The same figures as JSON (numbers only, so no escaping is needed).
  FILE* json = std::fopen(json_path.c_str(), "w");
  if (json == nullptr) {
    std::fprintf(stderr, "benchmark: cannot write %s\n", json_path.c_str());
    return 1;
  }
  std::fprintf(json,
               "{\n  \"benchmark\": \"sim_file_system_benchmark\",\n  \"repetitions\": %d,\n"
               "  \"cycle_ms\": {\"simulated\": {\"total\": %.3f, \"puts\": %.3f, \"rest\": %.3f},\n"
               "               \"real_disk\": {\"total\": %.3f, \"puts\": %.3f, \"rest\": %.3f}},\n"
               "  \"speed_up\": {\"total\": %.3f, \"puts\": %.3f, \"rest\": %.3f},\n"
               "  \"operation_us\": {\"simulated\": {\"create_sync\": %.2f, \"link\": %.2f, \"fsync_dir\": %.2f},\n"
               "                    \"real_disk\": {\"create_sync\": %.2f, \"link\": %.2f, \"fsync_dir\": %.2f}}\n}\n",
               repetitions, sim.total(), sim.puts_ms, sim.rest_ms, disk.total(), disk.puts_ms, disk.rest_ms,
               disk.total() / sim.total(), disk.puts_ms / sim.puts_ms, disk.rest_ms / sim.rest_ms,
               simulated_micro.create_sync_micros, simulated_micro.link_micros, simulated_micro.fsync_dir_micros,
               real_micro.create_sync_micros, real_micro.link_micros, real_micro.fsync_dir_micros);
  std::fclose(json);
  std::printf("wrote %s\n", json_path.c_str());
  return 0;
}

}  // namespace
}  // namespace snapsim

int main(int argc, char** argv) {
  int repetitions = 5;
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string directory = tmp != nullptr ? tmp : "/tmp";
  // Default: $TEST_UNDECLARED_OUTPUTS_DIR, else <workspace>/bench-results (bazel run), else /tmp.
  const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  std::string json_path = outputs != nullptr     ? std::string(outputs) + "/sim_file_system_benchmark.json"
                          : workspace != nullptr ? std::string(workspace) + "/bench-results/sim_file_system_benchmark.json"
                                                 : "/tmp/sim_file_system_benchmark.json";
  if (outputs == nullptr && workspace != nullptr) {
    std::error_code ignored;
    std::filesystem::create_directories(std::string(workspace) + "/bench-results", ignored);
  }
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--help" || argument == "-h") {
      std::printf(
          "usage: bazel run -c opt //sim:sim_file_system_benchmark -- [options]\n\noptions:\n"
          "  --repetitions=N   repetitions of each measurement (default 5)\n"
          "  --smoke           one repetition: checks that the benchmark runs (what bazel test //... runs);\n"
          "                    its figures mean little\n"
          "  --directory=DIR   the real-disk side's directory (default $TEST_TMPDIR, else /tmp)\n"
          "  --json=FILE       where the JSON results go (default $TEST_UNDECLARED_OUTPUTS_DIR, else\n"
          "                    <workspace>/bench-results, else /tmp)/sim_file_system_benchmark.json\n");
      return 0;
    } else if (argument == "--smoke") {
      repetitions = 1;
    } else if (absl::StartsWith(argument, "--repetitions=")) {
      if (!absl::SimpleAtoi(argument.substr(14), &repetitions) || repetitions <= 0) {
        std::fprintf(stderr, "--repetitions takes a positive number\n");
        return 2;
      }
    } else if (absl::StartsWith(argument, "--directory=")) {
      directory = argument.substr(12);
    } else if (absl::StartsWith(argument, "--json=")) {
      json_path = argument.substr(7);
    } else {
      std::fprintf(stderr, "sim_file_system_benchmark: unknown argument '%s'\nrun 'sim_file_system_benchmark --help' "
                   "for its flags\n", argument.c_str());
      return 2;
    }
  }
  return snapsim::Run(repetitions, directory, json_path);
}
