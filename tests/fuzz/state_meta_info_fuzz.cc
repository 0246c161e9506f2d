// State meta info and its list (ParseStateMetaInfo, ParseStateMetaInfoList): never a crash; an error is never
// empty; what is accepted survives a round trip.
#include "backend/state_meta_info.h"
#include "tests/fuzz/corpus.h"
#include "tests/fuzz/fuzz_target.h"

namespace snapsim {
namespace fuzz {

const char kTargetName[] = "state_meta_info";

std::vector<std::string> SeedCorpus() {
  std::vector<std::string> corpus = BuildSeedObjects().meta_info_lists;
  for (const std::string& info : BuildSeedObjects().meta_infos) corpus.push_back(info);
  return corpus;
}

namespace {

void Check(absl::string_view input) {
  // The parsers take no origin: an error must only have a message ("" is in every message).
  CheckRoundTrip(
      input, "", "meta info", [](absl::string_view bytes) { return ParseStateMetaInfo(bytes); },
      [](const StateMetaInfo& info) { return SerializeStateMetaInfo(info); });
  CheckRoundTrip(
      input, "", "a meta info list", [](absl::string_view bytes) { return ParseStateMetaInfoList(bytes); },
      [](const std::vector<StateMetaInfo>& infos) { return SerializeStateMetaInfoList(infos); });
}

}  // namespace
}  // namespace fuzz
}  // namespace snapsim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  snapsim::fuzz::CheckRawAndWithChecksum(data, size, snapsim::fuzz::Check);
  return 0;
}
