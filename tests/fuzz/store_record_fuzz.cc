// The completed checkpoint store's records (ParseStoreRecord, what Recover reads after a coordinator failover):
// never a crash; an error names the record; what is accepted survives a round trip.
#include "snapshot/completed_checkpoint_store.h"
#include "tests/fuzz/corpus.h"
#include "tests/fuzz/fuzz_target.h"

namespace snapsim {
namespace fuzz {

const char kTargetName[] = "store_record";

std::vector<std::string> SeedCorpus() { return BuildSeedObjects().store_records; }

namespace {

void Check(absl::string_view input) {
  const std::string origin = "fuzz/ha/checkpointID-0000000000000000007";
  CheckRoundTrip(
      input, origin, "a record", [&](absl::string_view bytes) { return ParseStoreRecord(bytes, origin); },
      [](const StoreRecord& record) {
        CompletedCheckpoint checkpoint;
        checkpoint.external_pointer = record.external_pointer;
        checkpoint.properties = record.properties;
        checkpoint.restored_properties = record.restored_properties;
        return SerializeStoreRecord(checkpoint);
      });
}

}  // namespace
}  // namespace fuzz
}  // namespace snapsim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  snapsim::fuzz::CheckRawAndWithChecksum(data, size, snapsim::fuzz::Check);
  return 0;
}
