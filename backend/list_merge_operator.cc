#include "backend/list_merge_operator.h"

#include "backend/encoding.h"

namespace snapsim {

bool ListMergeOperator::Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing_value,
                              const rocksdb::Slice& value, std::string* new_value,
                              rocksdb::Logger* /*logger*/) const {
  new_value->clear();
  if (existing_value != nullptr) new_value->assign(existing_value->data(), existing_value->size());
  new_value->append(value.data(), value.size());
  return true;
}

std::string EncodeListElement(absl::string_view element) {
  std::string out;
  ByteWriter(&out).PutLengthPrefixed(element);
  return out;
}

absl::StatusOr<std::vector<std::string>> DecodeList(absl::string_view value) {
  std::vector<std::string> elements;
  ByteReader reader(value, "list state value");
  while (!reader.AtEnd()) {
    absl::StatusOr<absl::string_view> element = reader.ReadLengthPrefixed("element");
    if (!element.ok()) return element.status();
    elements.emplace_back(*element);
  }
  return elements;
}

}  // namespace snapsim
