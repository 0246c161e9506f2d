#include "sim/posix_world.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backend/local_files.h"

namespace snapsim {
namespace {

class DirectoryInspectableStorage : public InspectableStorage {
 public:
  explicit DirectoryInspectableStorage(std::string root) : storage_(std::move(root)) {}
  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> Create(const std::string& path) override {
    return storage_.Create(path);
  }
  absl::StatusOr<std::string> Read(const std::string& path) override { return storage_.Read(path); }
  absl::Status Delete(const std::string& path) override { return storage_.Delete(path); }
  absl::StatusOr<std::vector<std::string>> List(const std::string& prefix) override { return storage_.List(prefix); }
  absl::StatusOr<bool> Exists(const std::string& path) override { return storage_.Exists(path); }
  absl::StatusOr<StoredObjectInfo> Stat(const std::string& path) override { return storage_.Stat(path); }

  std::vector<std::string> AllPaths() const override {
    absl::StatusOr<std::vector<std::string>> paths = const_cast<DirectoryCheckpointStorage&>(storage_).List("");
    return paths.ok() ? *std::move(paths) : std::vector<std::string>();
  }
  std::optional<StoredObjectInfo> Inspect(const std::string& path) const override {
    absl::StatusOr<StoredObjectInfo> info = const_cast<DirectoryCheckpointStorage&>(storage_).Stat(path);
    if (!info.ok()) return std::nullopt;
    return *info;
  }
  std::optional<std::string> InspectBytes(const std::string& path) const override {
    absl::StatusOr<std::string> bytes = const_cast<DirectoryCheckpointStorage&>(storage_).Read(path);
    if (!bytes.ok()) return std::nullopt;
    return *std::move(bytes);
  }
  void PutDirect(const std::string& path, std::string bytes) override {
    absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = storage_.Create(path);
    if (!stream.ok()) return;
    if ((*stream)->Write(bytes).ok()) (void)(*stream)->Finish();
  }

 private:
  DirectoryCheckpointStorage storage_;
};

class PosixMachine : public JobMachine {
 public:
  PosixMachine(std::string name, std::string root) : name_(std::move(name)), root_(std::move(root)) {}
  const std::string& name() const override { return name_; }
  rocksdb::Env* env() const override { return rocksdb::Env::Default(); }
  std::string root() const override { return root_; }
  void Crash() override {}  // the files stay: a crash the operating system survived
  void RestartProcess() override {}
  std::vector<std::string> ListFiles(const std::string& directory) const override {
    std::vector<std::string> files;
    std::error_code error;
    for (auto it = std::filesystem::recursive_directory_iterator(directory, error);
         !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
      if (it->is_regular_file(error)) files.push_back(it->path().string());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

 private:
  const std::string name_;
  const std::string root_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PosixWorld>> PosixWorld::Create(std::string base_directory, bool keep_trace_events,
                                                               bool keep_files) {
  if (absl::Status status = CreateDirectories(rocksdb::Env::Default(), base_directory + "/storage"); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat("creating the posix world under ", base_directory, ": ",
                                                    status.message()));
  }
  return std::unique_ptr<PosixWorld>(new PosixWorld(std::move(base_directory), keep_trace_events, keep_files));
}

PosixWorld::PosixWorld(std::string base_directory, bool keep_trace_events, bool keep_files)
    : base_directory_(std::move(base_directory)),
      keep_files_(keep_files),
      trace_(keep_trace_events),
      runtime_(std::make_unique<ThreadRuntime>()),
      storage_(std::make_unique<DirectoryInspectableStorage>(base_directory_ + "/storage")),
      start_micros_(runtime_->NowMicros()) {}

PosixWorld::~PosixWorld() {
  runtime_.reset();  // joins every activity (their sleeps end at once)
  storage_.reset();
  if (!keep_files_) (void)DeleteRecursively(rocksdb::Env::Default(), base_directory_);
}

std::unique_ptr<JobMachine> PosixWorld::NewMachine(const std::string& name, const Prng& /*prng*/) {
  const std::string root = absl::StrCat(base_directory_, "/machines/", name);
  (void)CreateDirectories(rocksdb::Env::Default(), root);
  return std::make_unique<PosixMachine>(name, root);
}

void PosixWorld::Record(absl::string_view component, absl::string_view event, TraceArgs args) {
  trace_.Record(ElapsedMicros(), component, event, 0, "", std::move(args));
}

void PosixWorld::RecordSpan(absl::string_view component, absl::string_view event, int64_t start_micros,
                            TraceArgs args) {
  const int64_t now = runtime_->NowMicros();
  trace_.RecordSpan(start_micros - start_micros_, component, event, std::max<int64_t>(0, now - start_micros), "",
                    std::move(args));
}

bool PosixWorld::RunUntilQuiescent(std::vector<std::string>* pending) {
  if (pending != nullptr) pending->clear();
  return runtime_->WaitUntilIdle(/*horizon_micros=*/kMaxCheckpointTimeoutMicros + 500'000, /*limit_micros=*/120'000'000);
}

std::unique_ptr<JobWorld> PosixWorld::NewSideWorld(uint64_t /*seed*/) {
  absl::StatusOr<std::unique_ptr<PosixWorld>> side =
      Create(absl::StrCat(base_directory_, "/side-", ++side_worlds_), /*keep_trace_events=*/false);
  if (!side.ok()) return nullptr;
  return *std::move(side);
}

}  // namespace snapsim
