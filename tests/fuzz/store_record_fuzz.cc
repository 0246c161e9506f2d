// The completed checkpoint store's records (ParseStoreRecord, what Recover reads after a coordinator failover):
// never a crash; an error names the record; what is accepted survives a round trip.
#include "absl/strings/match.h"
#include "snapshot/completed_checkpoint_store.h"
#include "tests/fuzz/corpus.h"
#include "tests/fuzz/fuzz_target.h"

namespace snapsim {
namespace fuzz {

const char kTargetName[] = "store_record";

std::vector<std::string> SeedCorpus() { return BuildSeedObjects().store_records; }

namespace {

constexpr char kOrigin[] = "fuzz/ha/checkpointID-0000000000000000007";

std::string Serialize(const StoreRecord& record) {
  CompletedCheckpoint checkpoint;
  checkpoint.external_pointer = record.external_pointer;
  checkpoint.properties = record.properties;
  checkpoint.restored_properties = record.restored_properties;
  return SerializeStoreRecord(checkpoint);
}

void Check(absl::string_view input) {
  absl::StatusOr<StoreRecord> record = ParseStoreRecord(input, kOrigin);
  if (!record.ok()) {
    if (!absl::StrContains(record.status().message(), kOrigin)) {
      Finding("an error that does not name the record: " + record.status().ToString());
    }
    return;
  }
  CountAccepted();
  const std::string serialized = Serialize(*record);
  absl::StatusOr<StoreRecord> again = ParseStoreRecord(serialized, kOrigin);
  if (!again.ok()) Finding("an accepted record, serialized again, is rejected: " + again.status().ToString());
  if (Serialize(*again) != serialized) Finding("a record does not survive a round trip");
}

}  // namespace
}  // namespace fuzz
}  // namespace snapsim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  snapsim::fuzz::Check(input);
  if (std::optional<std::string> fixed = snapsim::fuzz::FixChecksum(input)) snapsim::fuzz::Check(*fixed);
  return 0;
}
