// State meta info: what a named state is (kind, serializers, schema version), and its versioned, checksummed
// serialized form that goes into snapshot metadata. Follows Flink's RegisteredKeyValueStateBackendMetaInfo and
// StateMetaInfoSnapshot; the byte format is snapsim's own.
#ifndef SNAPSIM_BACKEND_STATE_META_INFO_H_
#define SNAPSIM_BACKEND_STATE_META_INFO_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"

namespace snapsim {

enum class StateKind : uint8_t {
  kValue = 1,
  kList = 2,
  kMap = 3,
};

absl::string_view StateKindName(StateKind kind);

// The serializer of snapsim's byte-string keys, namespaces, values and user keys.
inline constexpr absl::string_view kBytesSerializerId = "snapsim.bytes.v1";

struct StateMetaInfo {
  std::string name;
  StateKind kind = StateKind::kValue;
  std::string key_serializer = std::string(kBytesSerializerId);
  std::string namespace_serializer = std::string(kBytesSerializerId);
  std::string value_serializer = std::string(kBytesSerializerId);
  // Empty unless kind == kMap.
  std::string user_key_serializer;
  uint32_t schema_version = 1;

  // A state of `kind` with the default byte-string serializers.
  static StateMetaInfo Of(absl::string_view name, StateKind kind);

  friend bool operator==(const StateMetaInfo& a, const StateMetaInfo& b);
  friend bool operator!=(const StateMetaInfo& a, const StateMetaInfo& b) { return !(a == b); }
};

// Format version written by this build. Readers accept exactly the versions they know.
inline constexpr uint16_t kStateMetaInfoFormatVersion = 1;

// One meta info: magic "SMI1", u16 version, fields, CRC-32C of everything before it. Besides corrupt input, the
// parser rejects a key serializer this build does not know and a user key serializer that contradicts the kind
// (present unless MAP, absent for MAP), naming the field, the state and the value.
std::string SerializeStateMetaInfo(const StateMetaInfo& info);
absl::StatusOr<StateMetaInfo> ParseStateMetaInfo(absl::string_view blob);

// A list of meta infos in registration order (the backend's part of snapshot metadata): magic "SML1",
// u16 version, count, each entry as a length-prefixed SerializeStateMetaInfo blob, CRC-32C. A state name that
// appears twice is an error.
std::string SerializeStateMetaInfoList(const std::vector<StateMetaInfo>& infos);
absl::StatusOr<std::vector<StateMetaInfo>> ParseStateMetaInfoList(absl::string_view blob);

}  // namespace snapsim

#endif  // SNAPSIM_BACKEND_STATE_META_INFO_H_
