// The scenario language (ParseScenario): never a crash; an error names the file; an accepted scenario formats to
// text that parses back to the same text.
#include "scenarios/scenario.h"
#include "scenarios/swarm_generator.h"
#include "tests/fuzz/fuzz_target.h"

namespace snapsim {
namespace fuzz {

const char kTargetName[] = "scenario";

std::vector<std::string> SeedCorpus() {
  std::vector<std::string> corpus;
  for (uint64_t seed = 1; seed <= 12; ++seed) corpus.push_back(FormatScenario(GenerateSwarmScenario(seed)));
  return corpus;
}

namespace {

void Check(absl::string_view input) {
  constexpr absl::string_view kOrigin = "fuzz.scenario";
  CheckRoundTrip(
      input, kOrigin, "a scenario", [&](absl::string_view text) { return ParseScenario(text, kOrigin); },
      [](const Scenario& scenario) { return FormatScenario(scenario); });
}

}  // namespace
}  // namespace fuzz
}  // namespace snapsim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  snapsim::fuzz::Check(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
