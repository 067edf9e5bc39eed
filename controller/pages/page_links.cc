#include "controller/pages/page_links.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/regular_file.h"

namespace opsagent {
namespace {

constexpr size_t kMinKeyBytes = 32;

absl::Status Refused(absl::string_view why) {
  return absl::PermissionDeniedError(absl::StrCat(
      "this link ", why, "; ask for a new one (opsctl incident link ID)"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PageLinks>> PageLinks::Create(
    const v1::IncidentPagesConfig& config) {
  absl::StatusOr<std::string> key =
      ReadSecretFile(config.link_key_file(), 4096);
  if (!key.ok()) return key.status();
  std::string trimmed(absl::StripAsciiWhitespace(*key));
  if (trimmed.size() < kMinKeyBytes)
    return absl::FailedPreconditionError(
        absl::StrCat(config.link_key_file(), ": shorter than ", kMinKeyBytes,
                     " characters; make one with openssl rand -hex 32"));
  const absl::Duration life =
      absl::Hours(config.link_hours() == 0 ? 24 : config.link_hours());
  return std::unique_ptr<PageLinks>(new PageLinks(
      std::move(trimmed),
      std::string(absl::StripSuffix(config.base_url(), "/")), life));
}

std::string PageLinks::Mac(absl::string_view scope, int64_t expires) const {
  const std::string message =
      absl::StrCat("opsagent incident page v1\n", scope, "\n", expires);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       mac, &length);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(mac), length));
}

std::string PageLinks::Token(absl::string_view scope,
                             absl::Time expires) const {
  const int64_t seconds = absl::ToUnixSeconds(expires);
  return absl::StrCat(seconds, ".", Mac(scope, seconds));
}

std::string PageLinks::Path(absl::string_view scope, absl::Time expires) const {
  return absl::StrCat(
      scope == kListScope ? "/incidents" : absl::StrCat("/incidents/", scope),
      "?t=", Token(scope, expires));
}

std::string PageLinks::Url(absl::string_view scope, absl::Time expires) const {
  return absl::StrCat(base_url_, Path(scope, expires));
}

absl::StatusOr<absl::Time> PageLinks::Check(absl::string_view token,
                                            absl::string_view scope,
                                            absl::Time now) const {
  // Only the one spelling Token() makes: digits without a sign, a space
  // or a leading zero, a dot, the MAC in lowercase hex.
  const size_t dot = token.find('.');
  int64_t seconds = 0;
  if (token.empty() || token.size() > 128 || dot == absl::string_view::npos ||
      !absl::SimpleAtoi(token.substr(0, dot), &seconds) ||
      absl::StrCat(seconds) != token.substr(0, dot))
    return Refused("is not one the controller gave");
  const std::string expected = Mac(scope, seconds);
  const absl::string_view given = token.substr(dot + 1);
  if (given.size() != expected.size() ||
      CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0)
    return Refused("is not one the controller gave, or not for this page");
  const absl::Time expires = absl::FromUnixSeconds(seconds);
  if (expires <= now)
    return Refused(absl::StrCat(
        "expired at ",
        absl::FormatTime("%Y-%m-%d %H:%M UTC", expires, absl::UTCTimeZone())));
  return expires;
}

}  // namespace opsagent
