#include "snapshot/checkpoint_stream_factory.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace snapsim {

absl::StatusOr<std::unique_ptr<StateOutputStream>> StateOutputStream::Create(CheckpointStorage* storage,
                                                                             std::string path, uint64_t threshold) {
  std::unique_ptr<StateOutputStream> stream(new StateOutputStream(storage, std::move(path), threshold));
  if (threshold == 0) {
    absl::StatusOr<std::shared_ptr<CheckpointOutputStream>> object = stream->OpenObject();
    if (!object.ok()) return object.status();
    stream->object_ = *std::move(object);
  }
  return stream;
}

absl::StatusOr<std::shared_ptr<CheckpointOutputStream>> StateOutputStream::OpenObject() {
  // Never under mutex_: creating an object is a scheduling point in simulation (Cancel, from another activity,
  // takes mutex_).
  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> created = storage_->Create(path_);
  if (!created.ok()) return created.status();
  return std::shared_ptr<CheckpointOutputStream>(
      std::make_shared<DeleteOnFailedFinishStream>(*std::move(created), storage_, path_));
}

absl::Status StateOutputStream::Write(absl::string_view data) {
  std::shared_ptr<CheckpointOutputStream> object;
  std::string spilled;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) return absl::CancelledError(absl::StrCat("stream ", path_, " cancelled"));
    if (object_ == nullptr && buffer_.size() + data.size() <= threshold_) {
      buffer_.append(data.data(), data.size());
      return absl::OkStatus();
    }
    object = object_;
    if (object == nullptr) spilled = std::exchange(buffer_, std::string());
  }
  if (object == nullptr) {
    // The state outgrew the threshold: it becomes an object, starting with what was kept in memory. Only the
    // writing activity writes, so nobody else opens it meanwhile.
    absl::StatusOr<std::shared_ptr<CheckpointOutputStream>> opened = OpenObject();
    if (!opened.ok()) return opened.status();
    object = *std::move(opened);
    bool cancelled = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cancelled = cancelled_;
      object_ = object;
    }
    if (cancelled) {
      object->Cancel();
      return absl::CancelledError(absl::StrCat("stream ", path_, " cancelled"));
    }
    if (absl::Status status = object->Write(spilled); !status.ok()) return status;
  }
  return object->Write(data);
}

absl::StatusOr<StreamStateHandle> StateOutputStream::CloseAndGetHandle() {
  std::shared_ptr<CheckpointOutputStream> object;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) return absl::CancelledError(absl::StrCat("stream ", path_, " cancelled"));
    if (object_ == nullptr) return StreamStateHandle::Inline(path_, std::exchange(buffer_, std::string()));
    object = object_;
  }
  absl::StatusOr<StoredObjectInfo> stored = object->Finish();
  if (!stored.ok()) return stored.status();
  return StreamStateHandle::File(*stored);
}

void StateOutputStream::Cancel() {
  std::shared_ptr<CheckpointOutputStream> object;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    buffer_.clear();
    object = object_;
  }
  if (object != nullptr) object->Cancel();
}

}  // namespace snapsim
