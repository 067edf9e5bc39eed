#ifndef OPSAGENT_CONTROLLER_PAGES_PAGE_LINKS_H_
#define OPSAGENT_CONTROLLER_PAGES_PAGE_LINKS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "opsagent/v1/opsctld_config.pb.h"

namespace opsagent {

// Links to the incident pages that whoever holds them may open until they
// expire, for one incident or for the list, and for nothing else: the
// controller signs "scope and expiry" with a secret key of its own
// (HMAC-SHA256), so a link cannot be stretched, moved to another incident
// or made up. The token is "EXPIRY.MAC" (Unix seconds, hex). Thread-safe.
class PageLinks {
 public:
  // The list's scope; an incident's is its id.
  static constexpr absl::string_view kListScope = "incidents";
  // The longest a link may last.
  static constexpr absl::Duration kMaxLife = absl::Hours(24 * 7);

  // Reads the key (a secret file, at least 32 characters).
  static absl::StatusOr<std::unique_ptr<PageLinks>> Create(
      const v1::IncidentPagesConfig& config);

  // "BASE/incidents/INC-7?t=TOKEN", or "BASE/incidents?t=TOKEN" for the
  // list (`scope` kListScope).
  std::string Url(absl::string_view scope, absl::Time expires) const;
  // The path and query alone ("/incidents/INC-7?t=TOKEN"), for links
  // between pages.
  std::string Path(absl::string_view scope, absl::Time expires) const;
  // The token for `scope` until `expires`.
  std::string Token(absl::string_view scope, absl::Time expires) const;
  // When a valid token for `scope` expires; PERMISSION_DENIED when it is
  // not one, is for another scope, or has expired at `now`.
  absl::StatusOr<absl::Time> Check(absl::string_view token,
                                   absl::string_view scope,
                                   absl::Time now) const;

  // How long a link lasts unless asked otherwise (pages.link_hours).
  absl::Duration default_life() const { return default_life_; }

 private:
  PageLinks(std::string key, std::string base_url, absl::Duration life)
      : key_(std::move(key)),
        base_url_(std::move(base_url)),
        default_life_(life) {}
  std::string Mac(absl::string_view scope, int64_t expires) const;

  const std::string key_;
  const std::string base_url_;  // without a trailing slash
  const absl::Duration default_life_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_PAGES_PAGE_LINKS_H_
