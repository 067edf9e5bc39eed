#ifndef OPSAGENT_CONTROLLER_ENROLL_CRL_PUBLISHER_H_
#define OPSAGENT_CONTROLLER_ENROLL_CRL_PUBLISHER_H_

#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "controller/enroll/enrollment_store.h"
#include "controller/enroll/host_ca.h"

namespace opsagent {

// Keeps the host CA's CRL current in its file: signed at start, again at
// half of its validity, and at once after each revocation, each with a
// higher CRL number. A CRL that lapses or goes missing would refuse every
// enrolled host (revocation fails closed), so the file is looked at every
// minute and written again at once if it was removed or changed, and a
// failed signing is retried every minute; both are logged.
// After each file written, `written` runs (the controller re-reads its CRL
// directory at once). Thread-safe; the thread stops on destruction.
class CrlPublisher {
 public:
  CrlPublisher(const HostCa* ca, EnrollmentStore* store, std::string path,
               absl::Duration validity, std::function<void()> written);
  ~CrlPublisher();

  // Signs and writes the CRL now.
  absl::Status Publish();
  // Publishes once now (an error is returned, and start-up refused), then
  // keeps it current on a thread of its own.
  absl::Status Start();

 private:
  void Run();

  const HostCa* const ca_;
  EnrollmentStore* const store_;
  const std::string path_;
  const absl::Duration validity_;
  const std::function<void()> written_;
  absl::Mutex publishing_;
  std::string published_ ABSL_GUARDED_BY(publishing_);  // what is in the file
  absl::Time published_at_ ABSL_GUARDED_BY(publishing_);
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ENROLL_CRL_PUBLISHER_H_
