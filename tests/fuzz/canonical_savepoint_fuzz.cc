// Canonical savepoints (RestoreFromCanonicalSavepoint, which opens RocksDB): an input is JoinParts({a serialized
// key-groups handle, the savepoint stream}); the handle's size and checksum are set to the stream's, so mutations
// reach the stream decoder. Never a crash; a restore that succeeds gives a backend whose every entry reads (values,
// decoded lists), and a canonical savepoint of it restores to the same contents.
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backend/encoding.h"
#include "backend/list_merge_operator.h"
#include "sim/sim_machine.h"
#include "sim/sim_object_store.h"
#include "sim/sim_scheduler.h"
#include "snapshot/canonical_savepoint.h"
#include "snapshot/checkpoint_stream_factory.h"
#include "tests/fuzz/corpus.h"
#include "tests/fuzz/fuzz_target.h"

namespace snapsim {
namespace fuzz {

const char kTargetName[] = "canonical_savepoint";

std::vector<std::string> SeedCorpus() { return BuildSeedObjects().canonical_savepoints; }

namespace {

// Every entry of every state, as a user reads it: a list state's value decoded; an entry that does not read is a
// finding (the restore should have rejected it).
std::map<std::string, std::string> ReadEverything(KeyedStateBackend& backend, absl::string_view what) {
  std::map<std::string, std::string> contents;
  for (const StateMetaInfo& info : backend.MetaInfos()) {
    const KeyGroupRange all(0, backend.config().max_parallelism - 1);
    const absl::Status status = backend.ForEachEntry(info.name, all, [&](const StateEntry& entry) {
      std::string value = entry.value;
      if (info.kind == StateKind::kList) {
        absl::StatusOr<std::vector<std::string>> list = DecodeList(entry.value);
        if (!list.ok()) Finding(absl::StrCat(what, ": a list entry that does not decode: ", list.status().ToString()));
        value = absl::StrJoin(*list, "\x1f");
      }
      contents[absl::StrCat(info.name, "\x1e", entry.key.key, "\x1e", entry.key.name_space, "\x1e",
                            entry.key.user_key.value_or(""))] = value;
      return true;
    });
    if (!status.ok()) Finding(absl::StrCat(what, ": state ", info.name, " does not read: ", status.ToString()));
  }
  return contents;
}

void Check(absl::string_view input) {
  std::optional<std::vector<std::string>> parts = SplitParts(input, 2);
  if (!parts.has_value()) return;
  absl::StatusOr<KeyedStateHandle> parsed = ParseKeyedStateHandle((*parts)[0], "fuzz savepoint handle");
  if (!parsed.ok() || !std::holds_alternative<KeyGroupsStateHandle>(*parsed)) return;
  KeyGroupsStateHandle handle = std::get<KeyGroupsStateHandle>(*parsed);
  const std::string& stream = (*parts)[1];
  handle.delegate.size_bytes = stream.size();
  handle.delegate.checksum = Crc32c(stream);

  SimScheduler scheduler(11);
  SimMachine machine(&scheduler, Prng(11), "tm-0");
  SimObjectStore store(&scheduler, Prng(11).Child("store"));
  {
    absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> out = store.Create(handle.delegate.path);
    if (!out.ok()) return;  // a path the store refuses: the handle parser's business
    if (!(*out)->Write(stream).ok() || !(*out)->Finish().ok()) return;
  }
  KeyedStateBackendConfig config;
  config.env = machine.env();
  config.runtime = &scheduler;
  config.instance_path = "/tm-0/restored";
  std::vector<std::unique_ptr<KeyedStateBackend>> backends;
  absl::StatusOr<RestoreResult> restored = RestoreFromCanonicalSavepoint(config, scheduler, store, {handle});
  if (restored.ok()) {
    CountAccepted();
    KeyedStateBackend& backend = *restored->backend;
    const std::map<std::string, std::string> contents = ReadEverything(backend, "the restored backend");
    CheckpointStreamFactory factory(&store, &scheduler, "job-2/shared", "savepoints/again");
    CloseableRegistry registry;
    absl::StatusOr<std::optional<KeyGroupsStateHandle>> again = WriteCanonicalSavepoint(backend, factory, registry);
    if (!again.ok()) Finding("a restored backend's canonical savepoint fails: " + again.status().ToString());
    if (again->has_value()) {
      config.instance_path = "/tm-0/again";
      absl::StatusOr<RestoreResult> second = RestoreFromCanonicalSavepoint(config, scheduler, store, {**again});
      if (!second.ok()) Finding("a restored backend's canonical savepoint does not restore: " +
                                second.status().ToString());
      if (ReadEverything(*second->backend, "the second restore") != contents) {
        Finding("a canonical savepoint of a restored backend restores to other contents");
      }
      backends.push_back(std::move(second->backend));
    } else if (!contents.empty()) {
      Finding("a restored backend with entries wrote an empty canonical savepoint");
    }
    backends.push_back(std::move(restored->backend));
  } else if (restored.status().message().empty()) {
    Finding("a restore error without a message");
  }
  backends.clear();
  scheduler.RunUntilQuiescent();
}

}  // namespace
}  // namespace fuzz
}  // namespace snapsim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  snapsim::fuzz::Check(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
