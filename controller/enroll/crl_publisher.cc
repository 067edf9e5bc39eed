#include "controller/enroll/crl_publisher.h"

#include <fcntl.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/regular_file.h"
#include "common/replace_file.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

constexpr absl::Duration kRetry = absl::Minutes(1);
// lastUpdate a little in the past: hosts' clocks are not all equal.
constexpr absl::Duration kBackdate = absl::Minutes(5);

}  // namespace

CrlPublisher::CrlPublisher(const HostCa* ca, EnrollmentStore* store,
                           std::string path, absl::Duration validity,
                           std::function<void()> written)
    : ca_(ca),
      store_(store),
      path_(std::move(path)),
      validity_(validity),
      written_(std::move(written)) {}

CrlPublisher::~CrlPublisher() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

absl::Status CrlPublisher::Publish() {
  absl::MutexLock lock(&publishing_);
  const absl::Time now = absl::Now();
  absl::StatusOr<EnrollmentStore::CrlContent> content = store_->NextCrl(now);
  if (!content.ok()) return content.status();
  std::vector<RevokedCertificate> revoked;
  for (const auto& [serial, at] : content->revoked)
    revoked.push_back({serial, at});
  absl::StatusOr<std::string> crl =
      ca_->MakeCrl(revoked, content->number, now - kBackdate, now + validity_);
  if (!crl.ok()) return crl.status();
  if (absl::Status saved = ReplaceFile(path_, *crl, 0644); !saved.ok())
    return saved;
  published_ = *crl;
  published_at_ = now;
  spdlog::info("host CA: CRL {} written to {} ({} revoked, next update {})",
               content->number, path_, revoked.size(),
               absl::FormatTime(now + validity_));
  if (written_) written_();
  return absl::OkStatus();
}

absl::Status CrlPublisher::Start() {
  if (absl::Status first = Publish(); !first.ok())
    return absl::UnavailableError(
        absl::StrCat("host CA: cannot write its CRL: ", first.message()));
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void CrlPublisher::Run() {
  while (!stop_.WaitForNotificationWithTimeout(kRetry)) {
    std::string lost;  // why the file is not what was written
    bool due = false;
    {
      absl::MutexLock lock(&publishing_);
      absl::StatusOr<std::string> on_disk =
          ReadRegularFile(path_, 4 << 20, O_NOFOLLOW);
      if (!on_disk.ok()) {
        lost = absl::StrCat("its CRL ", path_, " is gone or unreadable (",
                            on_disk.status().message(), ")");
      } else if (*on_disk != published_) {
        lost = absl::StrCat("its CRL ", path_, " was changed by someone else");
      }
      due = absl::Now() - published_at_ >= validity_ / 2;
    }
    if (lost.empty() && !due) continue;
    if (!lost.empty()) spdlog::error("host CA: {}; writing it again", lost);
    if (absl::Status published = Publish(); !published.ok()) {
      spdlog::error(
          "host CA: cannot sign its CRL again ({}); trying every minute. When "
          "the one in {} lapses, every enrolled host is refused",
          std::string(published.message()), path_);
    }
  }
}

}  // namespace opsagent
