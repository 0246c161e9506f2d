// A target with a planted bug, for fuzz_driver_test.sh only: it "finds" any input of the seed's length plus one
// that still starts with the seed's first byte, which a few hundred mutations reach. Proves that a finding aborts,
// saves the input, and prints commands that replay it exactly.
#include "tests/fuzz/fuzz_target.h"

namespace snapsim {
namespace fuzz {

const char kTargetName[] = "planted";

std::vector<std::string> SeedCorpus() { return {"seed"}; }

}  // namespace fuzz
}  // namespace snapsim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 5 && data[0] == 's') snapsim::fuzz::Finding("the planted bug: a 5-byte input starting with 's'");
  if (size == 4) snapsim::fuzz::CountAccepted();
  return 0;
}
