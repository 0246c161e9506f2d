// The checker: judges DESIGN.md's invariants after every scenario step where they apply, from what the simulated
// job logs (JobEvent), what the coordinator retains, and the whole checkpoint storage. It never perturbs the run:
// it reads storage without latency, faults or trace events, except for side-world restores, which are part of the
// run and deterministic. After TigerBeetle's VOPR checker and RocksDB db_stress's expected-state oracle.
//
// Invariants checked:
//  1 restore equality: after every restart (failover, crash, kill, resume) each subtask's state, read over every
//    key group, equals the model's part for its key groups; every snapshot (checkpoint or savepoint) is restored
//    in a side world when it completes, on `restore-check`, and every retained one again at the end of the run.
//  2 no dangling reference: after every step every file of every retained checkpoint, of every snapshot the user
//    owns (savepoints, checkpoints retained by a stopped job) and of the restored snapshot exists with the size
//    and CRC-32C its handle recorded.
//  3 no leak at quiescence (`quiesce` steps and the end of the run): storage holds only what (2) lists, the store
//    records of retained checkpoints, and the orphans the job accepted with their reason.
//  4 reuse only what is confirmed: a placeholder names a file of a checkpoint confirmed to that subtask attempt
//    (a delivered completion, the completion an abort carries, or the restored base); full checkpoints and
//    savepoints reuse nothing.
//  5 ownership: NO_CLAIM and LEGACY never delete the restored snapshot's files (part of 2); CLAIM deletes them once
//    unused (part of 3); no checkpoint of a job restored in NO_CLAIM mode references a file of the restored
//    snapshot (its first checkpoint is full, FLINK-25192), so the user may delete that snapshot.
//  6 local state isolation: no local-recovery directory is held by two subtasks' stores.
//  8 efficiency: an incremental checkpoint uploads exactly the SST files its confirmed base lacked; a native full
//    checkpoint shares nothing. A base file that a newer checkpoint of the same attempt uploaded as another object
//    may be uploaded again (the strategy keeps such a file only in the newest record); the checker knows the newer
//    checkpoints from their acknowledgements, so a needless re-upload in the window before one is seen passes.
//  9 liveness: the `liveness` step (checkpoint within a bound; every retry reported).
// 10 local recovery used: a non-rescaled restore with local recovery on and an intact local copy of the
//    checkpoint restores from it.
// 11 retention: the store keeps no fewer than min(retained, completed) and no more than retained + 1 (the latest
//    checkpoint behind a savepoint); the latest completed checkpoint is never subsumed by a savepoint.
// 12 decisions: after every step, the job manager's decisions in the decision log (sim/decision_log.h) are the ones
//    the reference model (decision_model.h, Flink 1.18's rules) predicts: which failures count toward the tolerable
//    failures and when the job fails over (a missing or extra failover names the checkpoints counted, their reasons
//    and the threshold), why each checkpoint aborts (the reason seen and the ones expected), what a task declines
//    with, and when checkpoints are triggered (max concurrent, min pause, the periodic schedule, timeouts).
//
// Local disks, both ways (3 and 10): the checker keeps its own model of each subtask's task-local store (Flink's
// TaskLocalStateStoreImpl: a stored copy stays until a confirmation of a newer checkpoint, an abort of its own, a
// restore of another checkpoint or the store's death prunes it; a restarted process reloads what its disk kept). A
// restore that could have used a copy the model says the store must hold, but downloads instead, fails 10; at
// quiescence a copy the model says must be held but is gone fails 10, and a copy it says was pruned, or any file on a
// task manager's disk that no running backend (its db/) and no held copy accounts for, fails 3. Files a dead task
// manager process left (crash how=graceful|hard) are accepted, as captured when it died, with that reason.
//
// Not checked: 7 determinism (tests compare trace hashes, which fold in a checksum of every stored object's bytes,
// across processes; RocksDB's session id is seeded in the simulated world, sim/sim_env.cc); what RocksDB keeps in a
// running backend's db/ directory.
#ifndef SNAPSIM_SCENARIOS_CHECKER_H_
#define SNAPSIM_SCENARIOS_CHECKER_H_

#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "faults/fault_model.h"
#include "scenarios/decision_model.h"
#include "sim/job_world.h"
#include "sim/sim_job.h"

namespace snapsim {

struct Violation {
  int invariant = 0;
  std::string name;
  int step = 0;
  int64_t checkpoint_id = -1;
  int subtask = -1;
  std::string file;
  std::string detail;
  std::string ToString() const;
};

// Invariant 0 is "unexpected error": a step of the system under test failed with an error no fault injected.
Violation MakeViolation(int invariant, int step, std::string detail, int64_t checkpoint_id = -1, int subtask = -1,
                        std::string file = "");

// A completed snapshot the checker knows: what it references and the state it must restore to.
struct KnownSnapshot {
  int64_t checkpoint_id = 0;
  std::string job_id;
  std::string pointer;
  bool savepoint = false;
  // path -> (size, checksum); checksum 0 and size 0 for the metadata (checked for existence).
  std::map<std::string, std::pair<uint64_t, uint32_t>> files;
  KeyValueMap model;
};

class Checker {
 public:
  Checker(JobWorld* world, uint64_t seed);

  // A job started (fresh: `restored` null; resumed: the snapshot it started from and the mode).
  void OnJobStarted(SimJob& job, const KnownSnapshot* restored, RestoreMode mode);
  // The job is about to stop with `status`: what it retained passes to the user. REQUIRES: periodic triggering
  // stopped and pending checkpoints aborted, so the store no longer changes.
  void OnJobStopped(SimJob& job, JobStatus status);
  // A checkpoint or savepoint the scenario triggered completed (savepoints belong to the user from the start).
  void OnCompleted(SimJob& job, const CompletedCheckpoint& checkpoint);
  // After every step: events, new completed checkpoints, invariants 2, 4, 6, 8, 10, 11; 1 when `restarted`.
  std::optional<Violation> AfterStep(SimJob& job, int step, bool restarted);
  // The run came to a standstill (nothing can run, no timer pends) while the driver waited: AfterStep, then the
  // decisions that fell due by now (a timer due now had its chance: nothing else could run before it).
  std::optional<Violation> AfterStandstill(SimJob& job, int step);
  // Invariant 3 over the whole storage. REQUIRES: the run is quiescent.
  std::optional<Violation> CheckNoLeak(SimJob* job, int step);
  // Invariant 1 in a side world: restores `snapshot` at `parallelism` and compares every subtask with its model.
  std::optional<Violation> RestoreInSideWorld(const KnownSnapshot& snapshot, int parallelism, int max_parallelism,
                                              int step);
  // The running job's state against the model, per subtask.
  std::optional<Violation> CheckRunningState(SimJob& job, int step, const std::string& after);

  // Snapshots learned since the last call (each is restored in a side world once).
  std::vector<const KnownSnapshot*> TakeNewSnapshots();
  // Every snapshot known by checkpoint pointer; names bound by scenarios map to pointers.
  const KnownSnapshot* FindByPointer(const std::string& pointer) const;
  const KnownSnapshot* Find(int64_t checkpoint_id, const std::string& job_id) const;
  // The newest checkpoint (not savepoint) completed under `job_id`, or -1.
  int64_t LatestCheckpointOf(const std::string& job_id) const;
  // Snapshots that must stay: retained by the running job, owned by the user, or restored from.
  std::vector<const KnownSnapshot*> LiveSnapshots(SimJob* job) const;
  // Whether `snapshot` must still exist now: retained by the running job, owned by the user or restored from.
  // Real threads (--fs=posix) go on while the checker looks, so a missing file is judged against this, read after.
  bool StillLive(const KnownSnapshot& snapshot, SimJob* job) const;
  // LiveSnapshots less the user-owned ones that lost files to a CLAIM resume of another snapshot: what must restore.
  std::vector<const KnownSnapshot*> RestorableSnapshots(SimJob* job) const;
  // Which errors a fault explains (the fault injector's Explains: injected, or a detected corruption it caused);
  // by default only injected ones.
  void SetFaultExplanation(std::function<bool(absl::string_view)> explains) { explains_ = std::move(explains); }
  // Which errors are a loss the fault model allows (the fault injector's ExplainsLoss: an object storage-rot
  // rotted). A side-world restore that fails with such an error is accepted; one that succeeds is judged as always.
  void SetLossExplanation(std::function<bool(absl::string_view)> explains) { explains_loss_ = std::move(explains); }
  // A local file a scenario corrupted (corrupt steps): the task-local copy holding it may be refused and dropped.
  void OnLocalCorruption(const std::string& path) { corrupted_local_.insert(path); }
  // Orphans another component accepts, with their reasons (the fault injector's failed deletes).
  // A path may be accepted again for another reason later (a hard kill's upload, reused, then a failed delete of
  // it): every (path, reason) keeps the step it was first accepted at, and the newest acceptance is what holds.
  void AcceptOrphans(const std::map<std::string, std::string>& orphans) {
    accepted_orphans_.insert(orphans.begin(), orphans.end());
    for (const auto& [path, reason] : orphans) accepted_at_step_.emplace(std::make_pair(path, reason), current_step_);
  }
  // Notes for the report: accepted orphans, retries, side-world restores.
  std::vector<std::string>& notes() { return notes_; }
  int side_world_restores() const { return side_world_restores_; }
  // Side-world restores not run again: the same snapshot at the same parallelism from the same bytes restored to
  // its model before (RestoreInSideWorld).
  int side_world_restores_reused() const { return side_world_restores_reused_; }
  // Rare paths this run reached (restore from local state or remote, placeholder reuse, accepted orphans, ...).
  std::map<std::string, int>& coverage() { return coverage_; }

 private:
  struct Attempt {
    // Checkpoint id -> SST local names and storage paths of this attempt's acknowledged checkpoints.
    std::map<int64_t, std::map<std::string, std::string>> acknowledged_files;
    std::set<int64_t> savepoint_ids;
    std::set<int64_t> confirmed;
    // The newest completion the attempt took: the task ignores older ones (completions are ordered, savepoints'
    // included), so a checkpoint's completion arriving after a newer savepoint's confirms nothing.
    int64_t last_notified = -1;
    // The restored base (non-rescaled incremental restore): id and its SST files.
    int64_t restored_id = -1;
    std::map<std::string, std::string> restored_files;
    // At each trigger: the confirmed base's files and every confirmed path.
    std::map<int64_t, std::map<std::string, std::string>> base_at_trigger;
    std::map<int64_t, int64_t> base_id_at_trigger;
    std::map<int64_t, std::set<std::string>> confirmed_paths_at_trigger;
    std::map<int64_t, CheckpointOptions> options;
    // Snapshots whose task-level snapshot failed (their outcome is known).
    std::set<int64_t> failed;
  };

  std::optional<Violation> ProcessEvent(SimJob& job, const JobEvent& event, int step);
  void LearnCompletedCheckpoints(SimJob& job);
  void Learn(SimJob& job, const CompletedCheckpoint& checkpoint);
  KnownSnapshot Describe(SimJob& job, const CompletedCheckpoint& checkpoint);
  std::optional<Violation> CheckFiles(const KnownSnapshot& snapshot, int step, const std::string& role,
                                      SimJob* job = nullptr);
  // Invariant 5, NO_CLAIM: no checkpoint of the job references a file of the snapshot it was restored from.
  std::optional<Violation> CheckNoClaimIndependence(const KnownSnapshot& snapshot, int step) const;
  std::optional<Violation> CheckRetention(SimJob& job, int step,
                                         const std::vector<std::shared_ptr<CompletedCheckpoint>>& retained);

  JobWorld* world_;
  InspectableStorage* storage_;
  uint64_t seed_;
  // (job id, checkpoint id) -> snapshot.
  std::map<std::pair<std::string, int64_t>, KnownSnapshot> snapshots_;
  // Pointers the user owns (savepoints, checkpoints retained after a stop), until a CLAIM resume takes one.
  std::set<std::string> user_owned_;
  // Files a CLAIM resume took over: other user-owned snapshots that share them are no longer guaranteed them (Flink:
  // a claimed snapshot is the job's to delete; starting another job from a snapshot sharing its files is unsafe).
  // File -> the snapshot that claimed it last.
  std::map<std::string, std::string> claimed_files_;
  std::function<bool(absl::string_view)> explains_ = [](absl::string_view error) { return IsInjectedMessage(error); };
  std::function<bool(absl::string_view)> explains_loss_ = [](absl::string_view) { return false; };
  // A side-world restore of `snapshot` failed with `error`: an allowed loss (counted, noted), or a violation.
  std::optional<Violation> RestoreFailed(const KnownSnapshot& snapshot, int invariant, int step, int subtask,
                                         const std::string& error);
  // The snapshot the running job started from, while it is not claimed.
  std::string restored_unclaimed_;
  RestoreMode restore_mode_ = RestoreMode::kNoClaim;
  // By (subtask, chained operator, attempt): each operator's backend has its own strategy and base.
  std::map<std::tuple<int, int, int64_t>, Attempt> attempts_;
  // Completed non-savepoint checkpoints of the current job (with failovers), for retention.
  std::set<int64_t> completed_checkpoints_;
  int64_t latest_completed_checkpoint_ = -1;
  bool latest_is_sync_savepoint_ = false;
  // Orphans stopped jobs accepted, with their reasons; job roots of suspended jobs (their records stay).
  std::map<std::string, std::string> accepted_orphans_;
  // An accepted orphan must stay narrow: the step each (file, reason) was first accepted at, and the last step any
  // live snapshot (retained, user-owned, restored from) referenced each file. A file referenced after its acceptance
  // belongs to that snapshot's owner again, who must delete it once unused: that acceptance no longer holds (a later
  // one, say its owner's delete failing, may).
  std::map<std::pair<std::string, std::string>, int> accepted_at_step_;
  std::map<std::string, int> last_referenced_step_;
  int current_step_ = 0;
  std::set<std::string> suspended_roots_;
  std::vector<std::pair<std::string, int64_t>> new_snapshots_;
  std::vector<std::string> notes_;
  std::map<std::string, int> coverage_;
  int side_world_restores_ = 0;
  int side_world_restores_reused_ = 0;
  // "<pointer> at <parallelism>/<max parallelism>: <path>=<size>/<CRC-32C of its bytes>..." of each side-world
  // restore that restored every subtask to its model, with the number of its side world.
  std::map<std::string, int> verified_restores_;
  // Invariant 12's model of the current job's decisions.
  std::unique_ptr<DecisionModel> decisions_;

  // Invariants 3 and 10 on local disks: what each subtask's task-local store must hold (stored, not pruned since;
  // with the step that stored it and the operators it has a copy of), what it may hold (pruned in a deployment that
  // failed; a dead process's copies a restarted one reloaded), and the files dead processes left.
  struct LocalStoreModel {
    std::map<int64_t, std::pair<int, std::set<int>>> must_hold;
    std::set<int64_t> may_hold;
    // Forgets the copies of every checkpoint id `pruned` matches, held or possibly held.
    template <typename Predicate>
    void Prune(Predicate pruned) {
      for (auto it = must_hold.begin(); it != must_hold.end();) {
        it = pruned(it->first) ? must_hold.erase(it) : std::next(it);
      }
      for (auto it = may_hold.begin(); it != may_hold.end();) it = pruned(*it) ? may_hold.erase(it) : std::next(it);
    }
  };
  std::map<int, LocalStoreModel> local_stores_;
  std::map<int, std::map<std::string, std::string>> left_by_dead_processes_;
  std::set<std::string> corrupted_local_;
  // Whether a scenario corrupted a file of checkpoint `id`'s copy on `subtask`'s machine.
  bool LocalCopyCorrupted(SimJob& job, int subtask, int64_t id) const;
  std::optional<Violation> ProcessLocalStoreEvent(SimJob& job, const JobEvent& event, int step);
  // At quiescence: the stores against the model, and every file on the task managers' disks.
  std::optional<Violation> CheckLocalDisks(SimJob& job, int step);
};

}  // namespace snapsim

#endif  // SNAPSIM_SCENARIOS_CHECKER_H_
