#ifndef OPSAGENT_COMMON_ONE_WRITE_AT_A_TIME_H_
#define OPSAGENT_COMMON_ONE_WRITE_AT_A_TIME_H_

#include <utility>

#include "absl/synchronization/mutex.h"

namespace opsagent {

// The writes of a gRPC server reactor whose call is served on a thread of
// its own: Write hands gRPC one message and waits until gRPC has taken it
// (one write at a time, as gRPC requires, and flow-controlled), and the
// reactor's OnWriteDone reports each write back through Done. Once a write
// failed (the client went away) no other is started. `Buffer` is what the
// reactor writes (a message type, or grpc::ByteBuffer). Thread-safe.
template <typename Buffer>
class OneWriteAtATime {
 public:
  // Holds `buffer` until it is written; `start_write` is the reactor's
  // StartWrite. Returns whether it was written.
  template <typename StartWrite>
  bool Write(Buffer buffer, const StartWrite& start_write) {
    absl::MutexLock lock(&mutex_);
    if (!write_ok_) return false;
    buffer_ = std::move(buffer);
    writing_ = true;
    start_write(&buffer_);
    mutex_.Await(absl::Condition(
        +[](bool* writing) { return !*writing; }, &writing_));
    return write_ok_;
  }

  // From the reactor's OnWriteDone.
  void Done(bool ok) {
    absl::MutexLock lock(&mutex_);
    write_ok_ = ok;
    writing_ = false;
  }

 private:
  absl::Mutex mutex_;
  Buffer buffer_ ABSL_GUARDED_BY(mutex_);
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool write_ok_ ABSL_GUARDED_BY(mutex_) = true;
};

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_ONE_WRITE_AT_A_TIME_H_
