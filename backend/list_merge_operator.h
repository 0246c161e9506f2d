// The merge operator behind list states: a list value is a concatenation of length-prefixed elements, so appending
// is a RocksDB merge that concatenates. Plays the role of Flink's use of RocksDB's StringAppendOperator.
#ifndef SNAPSIM_BACKEND_LIST_MERGE_OPERATOR_H_
#define SNAPSIM_BACKEND_LIST_MERGE_OPERATOR_H_

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "rocksdb/merge_operator.h"

namespace snapsim {

class ListMergeOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing_value, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger* logger) const override;
  const char* Name() const override { return "snapsim.ListMergeOperator"; }
};

// One element in list encoding (varint length + bytes).
std::string EncodeListElement(absl::string_view element);
// All elements of a list value.
absl::StatusOr<std::vector<std::string>> DecodeList(absl::string_view value);

}  // namespace snapsim

#endif  // SNAPSIM_BACKEND_LIST_MERGE_OPERATOR_H_
