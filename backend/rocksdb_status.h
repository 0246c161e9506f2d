// The one place where RocksDB and abseil types meet: RocksDB statuses become absl::Status (STYLE.md rule 3),
// keeping the RocksDB code and message and adding what the caller was doing; string views become Slices.
#ifndef SNAPSIM_BACKEND_ROCKSDB_STATUS_H_
#define SNAPSIM_BACKEND_ROCKSDB_STATUS_H_

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "rocksdb/slice.h"
#include "rocksdb/status.h"

namespace snapsim {

// OK stays OK; any other status becomes an absl error "<context>: <rocksdb status>".
absl::Status FromRocksDbStatus(const rocksdb::Status& status, absl::string_view context);

// Debian's abseil has its own string_view type, which RocksDB's Slice does not know.
inline rocksdb::Slice ToSlice(absl::string_view bytes) { return rocksdb::Slice(bytes.data(), bytes.size()); }
inline absl::string_view ToStringView(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

}  // namespace snapsim

#endif  // SNAPSIM_BACKEND_ROCKSDB_STATUS_H_
