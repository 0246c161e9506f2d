#include "scenarios/world_demo.h"

#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backend/keyed_state_backend.h"
#include "backend/local_files.h"
#include "backend/rocksdb_status.h"
#include "rocksdb/utilities/checkpoint.h"
#include "sim/sim_machine.h"
#include "scenarios/executor.h"
#include "scenarios/lifecycle_generator.h"
#include "sim/sim_object_store.h"
#include "sim/sim_scheduler.h"

namespace snapsim {
namespace {

constexpr char kInstancePath[] = "/tm-0/job/operator-1";
constexpr char kCheckpointDirectory[] = "/tm-0/job/operator-1/chk-1";
constexpr char kRestorePath[] = "/tm-0/job/operator-1-restored";

KeyedStateBackendConfig Config(SimMachine& machine, SimScheduler& scheduler, const std::string& path) {
  KeyedStateBackendConfig config;
  config.env = machine.env();
  config.runtime = &scheduler;
  config.instance_path = path;
  config.preset = OptionsPreset::kSimulation;
  config.backend_uid = "demo-backend";
  return config;
}

}  // namespace

absl::StatusOr<WorldDemoResult> RunWorldDemo(const WorldDemoOptions& options) {
  SimSchedulerOptions scheduler_options;
  scheduler_options.keep_trace_events = options.keep_trace_events;
  SimScheduler scheduler(options.seed, scheduler_options);
  const Prng root(options.seed);
  SimMachine machine(&scheduler, root, "tm-0");
  SimObjectStore store(&scheduler, root.Child("object-store"));
  WorldDemoResult result;

  // 1. State, then a native checkpoint (hard links + copied MANIFEST/CURRENT/OPTIONS).
  std::vector<StateMetaInfo> metas;
  {
    auto backend = KeyedStateBackend::Open(Config(machine, scheduler, kInstancePath));
    if (!backend.ok()) return backend.status();
    KeyedStateBackend& state = **backend;
    if (absl::Status s = state.RegisterState("count", StateKind::kValue); !s.ok()) return s;
    if (absl::Status s = state.RegisterState("events", StateKind::kList); !s.ok()) return s;
    for (int i = 0; i < options.keys; ++i) {
      if (absl::Status s = state.SetCurrentKey(absl::StrCat("key-", i)); !s.ok()) return s;
      if (absl::Status s = state.PutValue("count", absl::StrCat(i)); !s.ok()) return s;
      if (absl::Status s = state.AppendToList("events", absl::StrCat("event-", i)); !s.ok()) return s;
      if (i == options.keys / 2) {
        if (absl::Status s = state.Flush(); !s.ok()) return s;
      }
    }
    metas = state.MetaInfos();
    rocksdb::Checkpoint* raw_checkpoint = nullptr;
    absl::Status status =
        FromRocksDbStatus(rocksdb::Checkpoint::Create(state.db(), &raw_checkpoint), "creating checkpoint object");
    if (!status.ok()) return status;
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw_checkpoint);
    status = FromRocksDbStatus(
        scheduler.RunBlockingRocksDbCall([&] { return checkpoint->CreateCheckpoint(kCheckpointDirectory); }),
        "taking native checkpoint");
    if (!status.ok()) return status;
    if (absl::Status s = state.Close(); !s.ok()) return s;
  }

  // 2. Upload every checkpoint file with N parallel transfers (the shape of Flink's RocksDBStateUploader).
  std::vector<std::string> files = machine.file_system()->ListFilesRecursively(kCheckpointDirectory);
  std::vector<Future<absl::Status>> transfers;
  const int threads = std::max(1, options.transfer_threads);
  for (int worker = 0; worker < threads; ++worker) {
    transfers.push_back(SpawnWithResult<absl::Status>(
        scheduler, absl::StrCat("upload-", worker), [&, worker]() -> absl::Status {
          for (size_t i = worker; i < files.size(); i += threads) {
            absl::StatusOr<std::string> contents = ReadLocalFile(machine.env(), files[i]);
            if (!contents.ok()) return contents.status();
            const std::string name = files[i].substr(std::string(kCheckpointDirectory).size() + 1);
            auto stream = store.Create(absl::StrCat("chk-1/", name));
            if (!stream.ok()) return stream.status();
            if (absl::Status s = (*stream)->Write(*contents); !s.ok()) return s;
            auto stored = (*stream)->Finish();
            if (!stored.ok()) return stored.status();
          }
          return absl::OkStatus();
        }));
  }
  for (const Future<absl::Status>& transfer : transfers) {
    if (!transfer.Get().ok()) return transfer.Get();
  }
  result.uploaded_files = static_cast<int>(files.size());
  result.uploaded_bytes = store.TotalBytes();

  // 3. Power loss: the local disk keeps only what was durable; restore from the object store alone.
  machine.Crash();
  auto listed = store.List("chk-1/");
  if (!listed.ok()) return listed.status();
  const std::string restore_db = absl::StrCat(kRestorePath, "/db");
  if (absl::Status s = CreateDirectories(machine.env(), restore_db); !s.ok()) return s;
  for (const std::string& object : *listed) {
    auto contents = store.Read(object);
    if (!contents.ok()) return contents.status();
    const std::string target = absl::StrCat(restore_db, "/", object.substr(std::string("chk-1/").size()));
    if (absl::Status s = WriteLocalFile(machine.env(), target, *contents); !s.ok()) return s;
  }

  // 4. Reopen and verify every key.
  auto restored = KeyedStateBackend::Open(Config(machine, scheduler, kRestorePath), metas);
  if (!restored.ok()) return restored.status();
  for (int i = 0; i < options.keys; ++i) {
    if (absl::Status s = (*restored)->SetCurrentKey(absl::StrCat("key-", i)); !s.ok()) return s;
    auto value = (*restored)->GetValue("count");
    if (!value.ok()) return value.status();
    auto events = (*restored)->GetList("events");
    if (!events.ok()) return events.status();
    if (*value != std::optional<std::string>(absl::StrCat(i)) || events->size() != 1 ||
        (*events)[0] != absl::StrCat("event-", i)) {
      return absl::DataLossError(absl::StrCat("restored state differs at key-", i));
    }
    ++result.restored_keys;
  }
  if (absl::Status s = (*restored)->Close(); !s.ok()) return s;

  const QuiescenceReport report = scheduler.RunUntilQuiescent();
  if (!report.quiescent || !report.pending.empty()) {
    return absl::InternalError(absl::StrCat("world did not quiesce: ", report.ToString()));
  }
  if (options.keep_trace_events) {
    result.trace_text = scheduler.trace().ToText();
    result.chrome_trace_json = scheduler.trace().ToChromeJson();
  }

  // 5. The checkpoint lifecycle: the seed's generated scenario (scenarios/lifecycle_generator.h) in its own world.
  const Scenario lifecycle = GenerateLifecycleScenario(options.seed);
  result.job_configuration = DescribeConfiguration(lifecycle.config);
  const RunResult run = RunScenario(lifecycle);
  if (run.verdict != RunResult::Verdict::kPass) {
    return absl::DataLossError(absl::StrCat("job lifecycle (", result.job_configuration, "): ",
                                            run.violation.has_value() ? run.violation->ToString() : run.error));
  }
  result.checkpoints_completed = run.checkpoints_completed;
  result.restores_verified = run.side_world_restores;
  // One hash for the whole run: the backend cycle's world and the lifecycle's.
  result.trace_hash = scheduler.trace().hash() * 0x9e3779b97f4a7c15ull ^ run.trace_hash;
  result.trace_events = scheduler.trace().event_count() + run.trace_events;
  result.virtual_time_micros = scheduler.NowMicros() + run.virtual_time_micros;
  return result;
}

}  // namespace snapsim
