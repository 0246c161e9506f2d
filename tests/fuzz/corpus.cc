#include "tests/fuzz/corpus.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "backend/keyed_state_backend.h"
#include "sim/sim_machine.h"
#include "sim/sim_object_store.h"
#include "sim/sim_scheduler.h"
#include "snapshot/canonical_savepoint.h"
#include "snapshot/completed_checkpoint.h"
#include "snapshot/completed_checkpoint_store.h"
#include "snapshot/snapshot_strategies.h"
#include "snapshot/state_handles.h"
#include "snapshot/state_uploader.h"
#include "tests/fuzz/fuzz_target.h"

namespace snapsim {
namespace fuzz {
namespace {

template <typename T>
T Must(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::fprintf(stderr, "fuzz corpus: %s: %s\n", what, value.status().ToString().c_str());
    std::abort();
  }
  return *std::move(value);
}

void Must(const absl::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "fuzz corpus: %s: %s\n", what, status.ToString().c_str());
    std::abort();
  }
}

void MustDirectory(rocksdb::Env* env, const std::string& path) {
  const rocksdb::Status status = env->CreateDirIfMissing(path);
  if (!status.ok()) {
    std::fprintf(stderr, "fuzz corpus: mkdir %s: %s\n", path.c_str(), status.ToString().c_str());
    std::abort();
  }
}

void Write(KeyedStateBackend& backend, int from, int to, const std::string& tag) {
  for (int i = from; i < to; ++i) {
    Must(backend.SetCurrentKey(absl::StrCat("key-", i)), "set key");
    Must(backend.PutValue("count", absl::StrCat(tag, i)), "put value");
    Must(backend.AppendToList("events", tag), "append");
    Must(backend.AppendToList("events", absl::StrCat(tag, "-", i)), "append");
    Must(backend.PutMapEntry("attributes", tag, absl::StrCat(i)), "put map entry");
  }
  Must(backend.Flush(), "flush");
}

// The corpus is only as good as the serializers: each object must parse back to the value it was made from, field
// by field (a field a serializer drops consistently would otherwise pass every fixed-point check of the targets).
void MustRoundTrip(bool same, const std::string& what) {
  if (!same) {
    std::fprintf(stderr, "fuzz corpus: %s does not parse back to the value it was serialized from\n", what.c_str());
    std::abort();
  }
}

void CheckRecord(const CompletedCheckpoint& checkpoint) {
  const StoreRecord record = Must(ParseStoreRecord(SerializeStoreRecord(checkpoint), "corpus"), "parse record");
  MustRoundTrip(record.external_pointer == checkpoint.external_pointer && record.properties == checkpoint.properties &&
                    record.restored_properties == checkpoint.restored_properties,
                absl::StrCat("the store record of checkpoint ", checkpoint.checkpoint_id));
}

void CheckMetadata(const CompletedCheckpoint& checkpoint) {
  const CompletedCheckpoint parsed =
      Must(ParseCheckpointMetadata(SerializeCheckpointMetadata(checkpoint), "corpus"), "parse metadata");
  MustRoundTrip(parsed.job_id == checkpoint.job_id && parsed.checkpoint_id == checkpoint.checkpoint_id &&
                    parsed.timestamp_micros == checkpoint.timestamp_micros &&
                    parsed.properties == checkpoint.properties &&
                    parsed.max_parallelism == checkpoint.max_parallelism &&
                    parsed.operator_states == checkpoint.operator_states,
                absl::StrCat("the metadata of checkpoint ", checkpoint.checkpoint_id));
}

void CheckHandle(const KeyedStateHandle& handle) {
  MustRoundTrip(Must(ParseKeyedStateHandle(SerializeKeyedStateHandle(handle), "corpus"), "parse handle") == handle,
                "a keyed state handle");
}

CompletedCheckpoint Checkpoint(int64_t id, CheckpointProperties properties, KeyedStateHandle handle) {
  CompletedCheckpoint checkpoint;
  checkpoint.job_id = "job-1";
  checkpoint.checkpoint_id = id;
  checkpoint.timestamp_micros = 1000 * id;
  checkpoint.properties = properties;
  checkpoint.max_parallelism = kDefaultMaxParallelism;
  checkpoint.operator_states.push_back(OperatorState{ChainedOperatorId(0), {std::move(handle)}});
  checkpoint.external_pointer = absl::StrCat("job-1/chk-", id);
  return checkpoint;
}

SeedObjects Build() {
  SeedObjects out;
  SimScheduler scheduler(7);
  SimMachine machine(&scheduler, Prng(7), "tm-0");
  SimObjectStore store(&scheduler, Prng(7).Child("store"));
  StateUploader uploader(&scheduler, 2);
  MustDirectory(machine.env(), "/tm-0");
  KeyedStateBackendConfig config;
  config.env = machine.env();
  config.runtime = &scheduler;
  config.instance_path = "/tm-0/seed";
  config.backend_uid = "seed-backend";
  std::unique_ptr<KeyedStateBackend> backend = Must(KeyedStateBackend::Open(config), "open");
  Must(backend->RegisterState("count", StateKind::kValue), "register");
  Must(backend->RegisterState("events", StateKind::kList), "register");
  Must(backend->RegisterState("attributes", StateKind::kMap), "register");
  Write(*backend, 0, 40, "a");

  LocalRecoveryConfig local;
  local.enabled = true;
  local.subtask_directory = "/tm-0/local";
  MustDirectory(machine.env(), local.subtask_directory);
  auto snapshot = [&](SnapshotStrategyBase& strategy, int64_t id) {
    SnapshotRunner::Running running =
        Must(SnapshotRunner::Snapshot(strategy, scheduler, id,
                                      CheckpointStreamFactory::ForCheckpoint(&store, &scheduler, "job-1", id),
                                      SnapshotType::kCheckpoint),
             "snapshot");
    SnapshotResult result = Must(running.result.Get(), "snapshot result");
    if (!result.remote.has_value()) Must(absl::InternalError("empty snapshot"), "snapshot");
    return result;
  };
  {
    IncrementalSnapshotStrategy incremental(backend.get(), &scheduler, &uploader, local, config.backend_uid);
    SnapshotResult first = snapshot(incremental, 1);
    incremental.NotifyCheckpointComplete(1);
    Write(*backend, 40, 60, "b");
    SnapshotResult second = snapshot(incremental, 2);
    for (const SnapshotResult* result : {&first, &second}) {
      CheckHandle(*result->remote);
      out.keyed_state_handles.push_back(SerializeKeyedStateHandle(*result->remote));
      if (result->local.has_value()) out.local_handles.push_back(SerializeIncrementalLocalHandle(*result->local));
      std::optional<std::string> meta = store.InspectBytes(result->remote->meta_state_handle.path);
      if (meta.has_value()) out.meta_info_lists.push_back(*meta);
    }
    CompletedCheckpoint checkpoint =
        Checkpoint(2, CheckpointProperties::ForCheckpoint(CheckpointRetention::kRetainOnCancellation), *second.remote);
    CheckMetadata(checkpoint);
    out.checkpoint_metadata.push_back(SerializeCheckpointMetadata(checkpoint));
    CheckRecord(checkpoint);
    out.store_records.push_back(SerializeStoreRecord(checkpoint));
    checkpoint.restored_properties = CheckpointProperties::ForUnclaimedSnapshot();
    CheckRecord(checkpoint);
    out.store_records.push_back(SerializeStoreRecord(checkpoint));
  }
  {
    NativeFullSnapshotStrategy full(backend.get(), &scheduler, &uploader, LocalRecoveryConfig{}, config.backend_uid);
    SnapshotResult result = snapshot(full, 3);
    CheckHandle(*result.remote);
    out.keyed_state_handles.push_back(SerializeKeyedStateHandle(*result.remote));
    CompletedCheckpoint checkpoint =
        Checkpoint(3, CheckpointProperties::ForSavepoint(SavepointFormat::kNative), *result.remote);
    CheckMetadata(checkpoint);
    out.checkpoint_metadata.push_back(SerializeCheckpointMetadata(checkpoint));
    CheckRecord(checkpoint);
    out.store_records.push_back(SerializeStoreRecord(checkpoint));
  }
  {
    CheckpointStreamFactory factory(&store, &scheduler, "job-1/shared", "savepoints/savepoint-4");
    CloseableRegistry registry;
    std::optional<KeyGroupsStateHandle> savepoint = Must(WriteCanonicalSavepoint(*backend, factory, registry),
                                                         "canonical savepoint");
    if (!savepoint.has_value()) Must(absl::InternalError("empty savepoint"), "canonical savepoint");
    CheckHandle(*savepoint);
    out.keyed_state_handles.push_back(SerializeKeyedStateHandle(*savepoint));
    CompletedCheckpoint checkpoint =
        Checkpoint(4, CheckpointProperties::ForSavepoint(SavepointFormat::kCanonical), *savepoint);
    checkpoint.external_pointer = "savepoints/savepoint-4";
    CheckMetadata(checkpoint);
    out.checkpoint_metadata.push_back(SerializeCheckpointMetadata(checkpoint));
    std::optional<std::string> stream = store.InspectBytes(savepoint->delegate.path);
    if (!stream.has_value()) Must(absl::InternalError("savepoint stream missing"), "canonical savepoint");
    out.canonical_savepoints.push_back(JoinParts({SerializeKeyedStateHandle(*savepoint), *stream}));
  }
  for (const StateMetaInfo& info : backend->MetaInfos()) {
    MustRoundTrip(Must(ParseStateMetaInfo(SerializeStateMetaInfo(info)), "parse meta info") == info,
                  "the meta info of state " + info.name);
    out.meta_infos.push_back(SerializeStateMetaInfo(info));
  }
  out.meta_info_lists.push_back(SerializeStateMetaInfoList(backend->MetaInfos()));
  backend.reset();
  scheduler.RunUntilQuiescent();
  return out;
}

}  // namespace

const SeedObjects& BuildSeedObjects() {
  static const SeedObjects* objects = new SeedObjects(Build());
  return *objects;
}

}  // namespace fuzz
}  // namespace snapsim
