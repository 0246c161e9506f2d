// Serialized state handles (ParseKeyedStateHandle, ParseIncrementalLocalHandle): never a crash; an error names
// the origin; what is accepted survives a round trip.
#include "snapshot/state_handles.h"
#include "tests/fuzz/corpus.h"
#include "tests/fuzz/fuzz_target.h"

namespace snapsim {
namespace fuzz {

const char kTargetName[] = "keyed_state_handle";

std::vector<std::string> SeedCorpus() {
  std::vector<std::string> corpus = BuildSeedObjects().keyed_state_handles;
  for (const std::string& local : BuildSeedObjects().local_handles) corpus.push_back(local);
  return corpus;
}

namespace {

void Check(absl::string_view input) {
  constexpr absl::string_view kOrigin = "fuzz checkpoint 7";
  CheckRoundTrip(
      input, kOrigin, "a keyed state handle",
      [&](absl::string_view bytes) { return ParseKeyedStateHandle(bytes, kOrigin); },
      [](const KeyedStateHandle& handle) { return SerializeKeyedStateHandle(handle); });
  CheckRoundTrip(
      input, kOrigin, "a local handle",
      [&](absl::string_view bytes) { return ParseIncrementalLocalHandle(bytes, kOrigin); },
      [](const IncrementalLocalKeyedStateHandle& handle) { return SerializeIncrementalLocalHandle(handle); });
}

}  // namespace
}  // namespace fuzz
}  // namespace snapsim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  snapsim::fuzz::CheckRawAndWithChecksum(data, size, snapsim::fuzz::Check);
  return 0;
}
