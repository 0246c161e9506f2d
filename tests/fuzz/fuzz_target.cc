#include "tests/fuzz/fuzz_target.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "backend/encoding.h"

namespace snapsim {
namespace fuzz {
namespace {

std::atomic<uint64_t> accepted{0};
std::atomic<bool> serializer_output{false};

void PutU32(std::string* out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>((value >> shift) & 0xFF));
}

}  // namespace

void Finding(const std::string& what) {
  std::fprintf(stderr, "FUZZ FINDING in %s: %s\n", kTargetName, what.c_str());
  std::fflush(stderr);
  std::abort();
}

void SetInputIsSerializerOutput(bool exact) { serializer_output.store(exact, std::memory_order_relaxed); }
bool InputIsSerializerOutput() { return serializer_output.load(std::memory_order_relaxed); }

void CountAccepted() { accepted.fetch_add(1, std::memory_order_relaxed); }
uint64_t AcceptedCount() { return accepted.load(std::memory_order_relaxed); }

std::string WithChecksum(absl::string_view body) {
  std::string out(body);
  PutU32(&out, Crc32c(body));
  return out;
}

std::optional<std::string> FixChecksum(absl::string_view input) {
  if (input.size() < 4) return std::nullopt;
  return WithChecksum(input.substr(0, input.size() - 4));
}

std::string JoinParts(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) {
    PutU32(&out, static_cast<uint32_t>(part.size()));
    out += part;
  }
  return out;
}

std::optional<std::vector<std::string>> SplitParts(absl::string_view input, size_t count) {
  std::vector<std::string> parts;
  while (!input.empty()) {
    if (input.size() < 4) return std::nullopt;
    uint32_t length = 0;
    for (int i = 0; i < 4; ++i) length = (length << 8) | static_cast<uint8_t>(input[i]);
    input.remove_prefix(4);
    if (length > input.size()) return std::nullopt;
    parts.emplace_back(input.substr(0, length));
    input.remove_prefix(length);
  }
  if (parts.size() != count) return std::nullopt;
  return parts;
}

}  // namespace fuzz
}  // namespace snapsim
