// The shared state registry: the job manager's reference counting of files that several checkpoints share, after
// Flink's SharedStateRegistryImpl in its fixed form (FLINK-29913, Flink 1.16.3 / 1.17.2 / 1.18;
// shared/flink/JOBMANAGER_SIDE.md sections 1 and 2).
//
// - Keys are physical: a file's path in checkpoint storage (a placeholder carries the path of the upload it stands
//   for). Two uploads never share a key, so same-named local files of different backends, or of different uploads
//   by one backend (concurrent checkpoints, FORWARD re-uploads, NO_CLAIM), never collide.
// - A placeholder resolves to the registered handle; a placeholder for an unknown key is an error.
// - The same key with an unequal handle is an error (it would mean two different files under one name); nothing
//   is ever deleted by registration.
// - UnregisterUnusedState(lowest) forgets every entry last used before `lowest` and deletes its file, unless the
//   entry was created by a restored snapshot the job does not own (NO_CLAIM / LEGACY); it reports the restored
//   checkpoints still in use whose files live in their own directory (a native savepoint restored in CLAIM mode),
//   so the store delays discarding them.
//
// snapsim registers a handle atomically: either every shared file is registered or none is (Flink may leave part
// of a failed acknowledgement registered). Deletions go to the discard callback, outside the registry's lock.
#ifndef SNAPSIM_SNAPSHOT_SHARED_STATE_REGISTRY_H_
#define SNAPSIM_SNAPSHOT_SHARED_STATE_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "snapshot/checkpoint_properties.h"
#include "snapshot/state_handles.h"

namespace snapsim {

class SharedStateRegistry {
 public:
  // Deletes files the registry no longer needs (Flink: scheduleAsyncDelete on the I/O executor). Never given a
  // placeholder.
  using Discarder = std::function<void(std::vector<StreamStateHandle>)>;

  explicit SharedStateRegistry(Discarder discarder);

  // Registers one file for `checkpoint_id` and returns the registered handle: `handle` itself when new, the
  // registered one for a placeholder or an equal handle.
  absl::StatusOr<StreamStateHandle> RegisterReference(const StreamStateHandle& handle, int64_t checkpoint_id);

  // Registers every shared file of `handle` for `checkpoint_id` and replaces each with the registered handle
  // (placeholders become real handles). All or nothing: on error nothing was registered and `handle` is unchanged.
  absl::Status RegisterAll(IncrementalRemoteKeyedStateHandle* handle, int64_t checkpoint_id);

  // After a restore: registers the restored snapshot's shared files as created by `checkpoint_id`, records its
  // sharing strategy (the properties stored in its metadata, if any), and under NO_CLAIM or LEGACY marks it as not
  // owned by this job, so its files are never deleted.
  absl::Status RegisterAllAfterRestored(std::vector<IncrementalRemoteKeyedStateHandle*> handles,
                                        int64_t checkpoint_id,
                                        std::optional<SharingFilesStrategy> restored_sharing_strategy,
                                        RestoreMode mode);

  // After a coordinator failover under NO_CLAIM or LEGACY: files outside `own_prefix` (the job's checkpoint root)
  // were not created by this job but by the snapshot it was started from, which its own checkpoints may still
  // reference (LEGACY); they are never deleted. Without this, the recovered registry took them for the job's own
  // and deleted them once unused (found by the swarm, seed 581; Flink's limitation of apache/flink PR #19331).
  void DisownPathsOutside(const std::string& own_prefix);

  // Forgets entries last used before `lowest_checkpoint_id` (deleting files this job owns) and returns the ids of
  // restored checkpoints that must not be discarded yet because a retained checkpoint still uses their files.
  std::set<int64_t> UnregisterUnusedState(int64_t lowest_checkpoint_id);

  // Checkpoint `pending_id` was triggered while `floor` was the latest completed checkpoint: its tasks may reference,
  // through placeholders, any file a checkpoint from `floor` on uses (a task's base is the latest completion it was
  // told of, never newer than `floor`). Until ReleasePending, UnregisterUnusedState keeps every entry such a
  // checkpoint uses, even once it is subsumed. Without this hold, a checkpoint triggered on base B while an older one
  // was still uploading its own copy of B's file was declined ("Attempt to reference unknown state") when the older
  // one completed, subsumed B and deleted B's copy (issue #13 part 1; Flink <= 1.18 declines the same way, and the
  // task-side pruning of duplicate uploads cannot see an upload that records after the trigger). Deviation from Flink.
  // Its price: a file the hold kept past its last user is deleted only when the pending checkpoint ends, so a
  // coordinator that dies meanwhile leaves it behind (DeferredDeletions), like the deletions it had queued.
  void HoldForPending(int64_t pending_id, int64_t floor);
  // The pending checkpoint completed (its references are registered) or was aborted: its hold ends, and entries only
  // the hold kept are forgotten and deleted now (with the lowest checkpoint UnregisterUnusedState last saw).
  void ReleasePending(int64_t pending_id);
  // Owned files no checkpoint in `retained` uses: what the registry would delete once the pending checkpoints that
  // use or hold them end (HoldForPending). A coordinator that dies first never deletes them, like the deletions it
  // had queued (its orphans).
  std::vector<std::string> DeferredDeletions(const std::set<int64_t>& retained) const;

  // Checkpoint `checkpoint_id` was aborted: it no longer uses anything. Files no other checkpoint (retained or
  // pending) uses are forgotten and deleted: its own fresh uploads, which nobody can reference since tasks reuse
  // only files of checkpoints confirmed to them. Flink tracks only the last user, so an aborted checkpoint pins
  // the files it touched until UnregisterUnusedState passes its id; when the job stops first, or the coordinator
  // fails over in between, they are never deleted. snapsim keeps every entry's users instead.
  void UnregisterAbortedCheckpoint(int64_t checkpoint_id);

  // Checkpoint `checkpoint_id` was discarded at shutdown: as for an aborted one, it no longer uses anything, and
  // files no retained checkpoint uses are forgotten and deleted. (UnregisterUnusedState(lowest retained) alone keeps
  // the files of a discarded checkpoint newer than a retained one: a job restored in NO_CLAIM mode keeps the
  // unclaimed restored checkpoint, so every checkpoint it discarded when it finished leaked its shared files; found
  // by //tests:property_test, scenarios/library/properties/property_finished_no_claim_job_leaks_shared_files.scenario.)
  void UnregisterDiscardedCheckpoint(int64_t checkpoint_id);

  // Later registrations fail; UnregisterUnusedState keeps working (store shutdown).
  void Close();

  // Inspection.
  bool Contains(const std::string& path) const;
  size_t size() const;
  int64_t highest_not_claimed_checkpoint_id() const;
  // Every registered path with (created by, last user).
  std::map<std::string, std::pair<int64_t, int64_t>> Entries() const;

 private:
  struct Entry {
    StreamStateHandle handle;
    int64_t created_by = 0;
    // The checkpoints registered as using it that are neither subsumed nor aborted.
    std::set<int64_t> users;
    // Never deleted by this job: a file of a snapshot it was restored from without owning it.
    bool not_owned = false;
    int64_t last_used() const { return users.empty() ? created_by : *users.rbegin(); }
  };

  // REQUIRES: mutex_ held. Whether this job may delete the entry's file: it created it, and not a restored snapshot
  // it does not own (NO_CLAIM, LEGACY).
  bool OwnedLocked(const Entry& entry) const {
    return entry.created_by > highest_not_claimed_checkpoint_id_ && !entry.not_owned;
  }
  // REQUIRES: mutex_ held. Checks one registration without changing anything.
  // Removes `checkpoint_id` from every entry's users; deletes owned files left without users (`even_if_used`: the
  // abort-deletes-reused mutant deletes every file the checkpoint used).
  void Unregister(int64_t checkpoint_id, bool even_if_used);
  absl::Status CheckRegistrable(const std::string& key, const StreamStateHandle& handle, int64_t checkpoint_id) const;
  // REQUIRES: mutex_ held and CheckRegistrable ok.
  StreamStateHandle RegisterLocked(const std::string& key, const StreamStateHandle& handle, int64_t checkpoint_id);

  Discarder discarder_;
  mutable std::mutex mutex_;
  bool open_ = true;
  int64_t highest_not_claimed_checkpoint_id_ = -1;
  std::map<std::string, Entry> entries_;
  std::map<int64_t, std::optional<SharingFilesStrategy>> restored_sharing_strategies_;
  // Pending checkpoint -> the lowest checkpoint whose files it may reference (HoldForPending).
  std::map<int64_t, int64_t> holds_;
  // The highest lowest-retained checkpoint UnregisterUnusedState was given (-1: never called).
  int64_t last_lowest_ = -1;
};

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_SHARED_STATE_REGISTRY_H_
