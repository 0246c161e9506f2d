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
  absl::StatusOr<StateMetaInfo> info = ParseStateMetaInfo(input);
  if (info.ok()) {
    CountAccepted();
    absl::StatusOr<StateMetaInfo> again = ParseStateMetaInfo(SerializeStateMetaInfo(*info));
    if (!again.ok()) Finding("accepted meta info, serialized again, is rejected: " + again.status().ToString());
    if (*again != *info) Finding("meta info does not survive a round trip");
  } else if (info.status().message().empty()) {
    Finding("an error without a message");
  }
  absl::StatusOr<std::vector<StateMetaInfo>> list = ParseStateMetaInfoList(input);
  if (list.ok()) {
    CountAccepted();
    absl::StatusOr<std::vector<StateMetaInfo>> again = ParseStateMetaInfoList(SerializeStateMetaInfoList(*list));
    if (!again.ok()) Finding("an accepted list, serialized again, is rejected: " + again.status().ToString());
    if (*again != *list) Finding("a meta info list does not survive a round trip");
  } else if (list.status().message().empty()) {
    Finding("an error without a message");
  }
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
