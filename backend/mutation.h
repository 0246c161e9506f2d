// Mutation points for the mutation self-test (tests/mutants/run.sh): deliberately wrong variants of the system under
// test, each a bug class Flink has had, that the property tests and the sweep must catch. They exist only in a build
// with -DSNAPSIM_MUTANTS (`--config=mutants`, which no production target or default build sets); there
// SNAPSIM_MUTANT("name") is true when the environment variable SNAPSIM_MUTANT names that mutant. Everywhere else
// SNAPSIM_MUTANT(...) is the constant false and the wrong branch is compiled out.
//
// The mutants (tests/mutants/README.md says what each models and what should catch it):
//   reuse-unconfirmed        the incremental base is the newest recorded upload, confirmed or not (FLINK-25395)
//   savepoint-clears-base    a savepoint's completion replaces the incremental base with nothing (FLINK-23949)
//   savepoint-subsumes-latest  a savepoint subsumes the latest checkpoint (FLINK-21351)
//   abort-deletes-reused     discarding a failed checkpoint deletes the confirmed files its placeholders name
//   registry-key-local-name  the shared state registry keys files by local SST name, ignoring the backend and the
//                            physical path (FLINK-29913)
//   no-claim-incremental-first  a NO_CLAIM restore does not force the first checkpoint to be full (FLINK-25192)
//   local-dir-without-uid    local recovery copies are kept in chk_<id>/db, without the backend UID (FLINK-12296)
//   restore-ignores-missing-file  a download that fails or comes up short is taken as the file's bytes
//   download-skips-checksum  a downloaded file is not checked against its handle's checksum (FLINK-27681)
//   late-ack-completes-expired  a checkpoint some subtask acknowledged outlives its timeout, so a late acknowledgement
//                            completes it
//   expired-counted-twice    an expired checkpoint counts twice toward the tolerable failures
//   min-pause-ignored        a periodic request within the min pause of the last completion is triggered
//   trigger-not-rescheduled  a periodic request refused for the min pause leaves the periodic trigger on its schedule
//   finalize-not-counted     a checkpoint that could not be finalized does not count (before FLINK-32347)
//   cancelled-snapshot-declines  a cancelled snapshot is declined with a counted reason
//   local-confirm-prunes-itself  a task-local store's confirmation also deletes the confirmed checkpoint's copy
//   local-confirm-prunes-nothing  a task-local store's confirmation deletes no older copy
#ifndef SNAPSIM_BACKEND_MUTATION_H_
#define SNAPSIM_BACKEND_MUTATION_H_

namespace snapsim {
// The mutants above, in order (the benchmark of seeds to the catch walks them; tests/mutants/run.sh reads the comment,
// and the benchmark's smoke test checks the two lists agree). Present in every build; only a mutants build acts on them.
inline constexpr const char* kMutantNames[] = {
    "reuse-unconfirmed",
    "savepoint-clears-base",
    "savepoint-subsumes-latest",
    "abort-deletes-reused",
    "registry-key-local-name",
    "no-claim-incremental-first",
    "local-dir-without-uid",
    "restore-ignores-missing-file",
    "download-skips-checksum",
    "late-ack-completes-expired",
    "expired-counted-twice",
    "min-pause-ignored",
    "trigger-not-rescheduled",
    "finalize-not-counted",
    "cancelled-snapshot-declines",
    "local-confirm-prunes-itself",
    "local-confirm-prunes-nothing",
};
}  // namespace snapsim

#ifdef SNAPSIM_MUTANTS
#include <cstdlib>
#include <cstring>

namespace snapsim {
// Configuration read once, before any simulation starts; not a source of nondeterminism within a run.
inline bool MutantActive(const char* name) {
  static const char* const active = std::getenv("SNAPSIM_MUTANT");
  return active != nullptr && std::strcmp(active, name) == 0;
}
}  // namespace snapsim

#define SNAPSIM_MUTANT(name) (::snapsim::MutantActive(name))
#else
#define SNAPSIM_MUTANT(name) false
#endif

#endif  // SNAPSIM_BACKEND_MUTATION_H_
