// Seed corpora for the fuzz targets, made by the project's own serializers from real snapshots: a backend with
// value, list and map state in a simulated world takes an incremental checkpoint (with a local copy), a second
// incremental one that reuses files (placeholders), a native full checkpoint and a canonical savepoint; their
// handles, meta info, checkpoint metadata and store records are what the targets start from.
#ifndef SNAPSIM_TESTS_FUZZ_CORPUS_H_
#define SNAPSIM_TESTS_FUZZ_CORPUS_H_

#include <string>
#include <vector>

namespace snapsim {
namespace fuzz {

struct SeedObjects {
  std::vector<std::string> checkpoint_metadata;  // SerializeCheckpointMetadata
  std::vector<std::string> keyed_state_handles;  // SerializeKeyedStateHandle (incremental, native full, canonical)
  std::vector<std::string> local_handles;        // SerializeIncrementalLocalHandle
  std::vector<std::string> meta_info_lists;      // SerializeStateMetaInfoList (as stored by snapshots)
  std::vector<std::string> meta_infos;           // SerializeStateMetaInfo
  std::vector<std::string> store_records;        // SerializeStoreRecord
  // JoinParts({SerializeKeyedStateHandle(key-groups handle), the canonical savepoint stream}).
  std::vector<std::string> canonical_savepoints;
};

// Built once per process (deterministic: a fixed seed in the simulated world). Aborts if the world fails: the
// corpus is the project's own output, so failing to make it is a bug to see at once.
const SeedObjects& BuildSeedObjects();

}  // namespace fuzz
}  // namespace snapsim

#endif  // SNAPSIM_TESTS_FUZZ_CORPUS_H_
