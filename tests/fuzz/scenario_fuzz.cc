// The scenario language (ParseScenario): never a crash; an error names the file; an accepted scenario formats to
// text that parses back to the same text.
#include "absl/strings/match.h"
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

constexpr char kOrigin[] = "fuzz.scenario";

void Check(absl::string_view input) {
  absl::StatusOr<Scenario> scenario = ParseScenario(input, kOrigin);
  if (!scenario.ok()) {
    if (!absl::StrContains(scenario.status().message(), kOrigin)) {
      Finding("an error that does not name the file: " + scenario.status().ToString());
    }
    return;
  }
  CountAccepted();
  const std::string formatted = FormatScenario(*scenario);
  absl::StatusOr<Scenario> again = ParseScenario(formatted, kOrigin);
  if (!again.ok()) Finding("an accepted scenario, formatted, is rejected: " + again.status().ToString());
  if (FormatScenario(*again) != formatted) Finding("a scenario does not survive a round trip");
}

}  // namespace
}  // namespace fuzz
}  // namespace snapsim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  snapsim::fuzz::Check(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
