// RocksDB's check of the OPTIONS file it has just written, without parsing the same file again and again.
//
// Every DB::Open, CreateColumnFamilies and SetOptions makes RocksDB 7.8.3 write an OPTIONS file
// (PersistRocksDBOptions) and then read it back and parse every option of every column family to compare them with
// the options it wrote (RocksDBOptionsParser::VerifyRocksDBOptionsFromFile). A task, a restore and every side world
// of the checker open a DB, always with the same options and the same few column families: that parse was a fifth of
// a swarm seed's CPU (issue #29's profile), for files byte for byte equal to files already verified.
//
// options_file_verification.cc takes RocksDB's place for that one function (the symbol is bound through librocksdb's
// PLT, so a definition in the program comes first, as with malloc). It reads the file through the same FileSystem,
// as RocksDB does, so the simulation sees the same reads and their faults; a file equal to one verified before (with
// the same column family names) is verified; any other goes to RocksDB's own parse and comparison, from a copy in
// memory. What reaches the DB is what RocksDB would have returned: a torn or corrupt OPTIONS file (its writes' status
// is not checked by PersistRocksDBOptions) still fails the open, because its bytes were never verified.
#ifndef SNAPSIM_BACKEND_OPTIONS_FILE_VERIFICATION_H_
#define SNAPSIM_BACKEND_OPTIONS_FILE_VERIFICATION_H_

#include <cstdint>

namespace snapsim {

struct OptionsFileVerifications {
  uint64_t parsed = 0;  // handed to RocksDB's parse (first sight of these bytes)
  uint64_t reused = 0;  // equal to bytes verified before
  uint64_t failed = 0;  // could not be read, or RocksDB's check failed
};

// How often this process asked get_nprocs() (backend/cpu_count.cc: RocksDB asks for every memtable; /sys is read
// once). Zero if nothing reached the cached definition.
uint64_t CpuCountQueries();

// What this process's OPTIONS file checks did so far. All zero if RocksDB never called the replacement (its symbol
// not interposed: then RocksDB verifies every file itself, as before).
OptionsFileVerifications OptionsFileVerificationCounts();

}  // namespace snapsim

#endif  // SNAPSIM_BACKEND_OPTIONS_FILE_VERIFICATION_H_
