// A registry of things to close, as Flink's CloseableRegistry: registering into a closed registry closes the
// thing at once; Close() is idempotent and closes everything in reverse registration order; whoever unregisters a
// thing owns it. Used for a snapshot's open streams (cancellation) and for the files an unfinished snapshot has
// uploaded (FLINK-30461: discarded when the snapshot fails, dropped when it succeeds). Thread-safe.
#ifndef SNAPSIM_SNAPSHOT_CLOSEABLE_REGISTRY_H_
#define SNAPSIM_SNAPSHOT_CLOSEABLE_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

namespace snapsim {

class CloseableRegistry {
 public:
  using Closer = std::function<void()>;

  // Remembers `closer` and returns its token; if the registry is already closed, runs `closer` now and returns
  // nullopt.
  std::optional<uint64_t> Register(Closer closer);
  // True iff `token` was registered; the caller then owns what it stood for.
  bool Unregister(uint64_t token);
  // Runs every registered closer, newest first. Later calls do nothing.
  void Close();
  bool closed() const;

 private:
  mutable std::mutex mutex_;
  bool closed_ = false;
  uint64_t next_token_ = 0;
  std::map<uint64_t, Closer> closers_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_CLOSEABLE_REGISTRY_H_
