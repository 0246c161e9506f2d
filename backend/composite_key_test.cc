#include "backend/composite_key.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace snapsim {
namespace {

TEST(CompositeKeyTest, PrefixIsBigEndian) {
  EXPECT_EQ(SerializeKeyGroupPrefix(5, 1), std::string("\x05", 1));
  EXPECT_EQ(SerializeKeyGroupPrefix(0x1234, 2), std::string("\x12\x34", 2));
  EXPECT_EQ(ReadKeyGroupPrefix(std::string("\x7F\xFF", 2), 2), 0x7FFF);
}

TEST(CompositeKeyTest, LayoutHasFlinkLengthSuffixes) {
  CompositeKeyBuilder builder(1);
  builder.SetKeyAndKeyGroup("ab", 3);
  // [kg=3][len=2 'a' 'b'][suffix 3][len=1 'n'][suffix 2]
  EXPECT_EQ(builder.BuildKeyNamespace("n"), std::string("\x03\x02" "ab" "\x03" "\x01" "n" "\x02", 8));
  // A key whose serialized form is 300 bytes long gets a two-byte suffix: 300 = 0x2C 0x01 little-endian.
  builder.SetKeyAndKeyGroup(std::string(298, 'k'), 0);
  const std::string raw = builder.BuildKeyNamespace("");
  ASSERT_GE(raw.size(), 1u + 300 + 2);
  EXPECT_EQ(raw.substr(1 + 300, 2), std::string("\x2C\x01", 2));
}

TEST(CompositeKeyTest, DecodeRejectsGarbage) {
  EXPECT_FALSE(DecodeCompositeKey("", 1, false).ok());
  EXPECT_FALSE(DecodeCompositeKey(std::string("\x01\x09" "ab", 4), 1, false).ok());
  CompositeKeyBuilder builder(2);
  builder.SetKeyAndKeyGroup("k", 300);
  std::string raw = builder.BuildKeyNamespace("ns") + "trailing";
  absl::StatusOr<CompositeKey> decoded = DecodeCompositeKey(raw, 2, false);
  EXPECT_FALSE(decoded.ok());
}

struct Entry {
  int key_group;
  std::string key;
  std::string name_space;
  std::string user_key;
};

// Sorting raw keys must keep each key group contiguous, and within it each (key, namespace) contiguous, so that
// key-group ranges can be iterated and deleted as one key interval and map entries found by prefix.
RC_GTEST_PROP(CompositeKeyProperty, KeyGroupsAndKeysAreContiguous, ()) {
  const int prefix_bytes = *rc::gen::element(1, 2);
  const int max_key_group = prefix_bytes == 1 ? 127 : 32767;
  const auto entries = *rc::gen::container<std::vector<Entry>>(rc::gen::build<Entry>(
      rc::gen::set(&Entry::key_group, rc::gen::inRange(0, max_key_group + 1)),
      rc::gen::set(&Entry::key, rc::gen::container<std::string>(rc::gen::element('a', 'b', '\0', '\xff'))),
      rc::gen::set(&Entry::name_space, rc::gen::container<std::string>(rc::gen::element('x', '\0', '\x01'))),
      rc::gen::set(&Entry::user_key, rc::gen::arbitrary<std::string>())));
  std::vector<std::pair<std::string, Entry>> raw;
  for (const Entry& entry : entries) {
    CompositeKeyBuilder builder(prefix_bytes);
    builder.SetKeyAndKeyGroup(entry.key, entry.key_group);
    raw.emplace_back(builder.BuildKeyNamespaceUserKey(entry.name_space, entry.user_key), entry);
  }
  std::sort(raw.begin(), raw.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  // Key groups ascend.
  for (size_t i = 1; i < raw.size(); ++i) RC_ASSERT(raw[i - 1].second.key_group <= raw[i].second.key_group);
  // A (key group, key, namespace) never reappears after another one started.
  std::vector<std::tuple<int, std::string, std::string>> seen;
  for (size_t i = 0; i < raw.size(); ++i) {
    const auto id = std::make_tuple(raw[i].second.key_group, raw[i].second.key, raw[i].second.name_space);
    if (i > 0 && id == std::make_tuple(raw[i - 1].second.key_group, raw[i - 1].second.key,
                                       raw[i - 1].second.name_space)) {
      continue;
    }
    RC_ASSERT(std::find(seen.begin(), seen.end(), id) == seen.end());
    seen.push_back(id);
  }
  // Every raw key lies within its key group's bounds, and decodes back.
  for (const auto& [bytes, entry] : raw) {
    const KeyGroupKeyBounds bounds = KeyBoundsOfKeyGroupRange(KeyGroupRange(entry.key_group, entry.key_group),
                                                              prefix_bytes);
    RC_ASSERT(bounds.begin <= bytes);
    RC_ASSERT(bytes < bounds.end);
    absl::StatusOr<CompositeKey> decoded = DecodeCompositeKey(bytes, prefix_bytes, /*has_user_key=*/true);
    RC_ASSERT(decoded.ok());
    RC_ASSERT(decoded->key_group == entry.key_group);
    RC_ASSERT(decoded->key == entry.key);
    RC_ASSERT(decoded->name_space == entry.name_space);
    RC_ASSERT(*decoded->user_key == entry.user_key);
  }
}

}  // namespace
}  // namespace snapsim
