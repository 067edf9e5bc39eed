#include "controller/enroll/enrollment_token.h"

#include <openssl/rand.h>

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/sha256.h"

namespace opsagent {
namespace {

constexpr size_t kIdBytes = 6;
constexpr size_t kSecretBytes = 32;
constexpr int kMaxRoles = 16;
constexpr int kMaxNames = 32;
constexpr size_t kMaxWord = 64;
constexpr size_t kMaxPattern = 253;
constexpr uint32_t kMaxUses = 10000;
constexpr uint32_t kMinTtlSeconds = 60;
constexpr uint32_t kMaxTtlSeconds = 30 * 24 * 3600;

bool IsWord(absl::string_view text) {
  if (text.empty() || text.size() > kMaxWord) return false;
  for (char c : text) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.')
      return false;
  }
  return true;
}

bool IsPattern(absl::string_view text) {
  if (text.empty() || text.size() > kMaxPattern) return false;
  for (absl::string_view label : absl::StrSplit(text, '.')) {
    if (label.empty() || label.size() > 63) return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-' && c != '*' && c != '?')
        return false;
    }
  }
  return true;
}

// Glob match within one label (no dots on either side).
bool LabelMatches(absl::string_view pattern, absl::string_view label) {
  size_t p = 0, l = 0, star = absl::string_view::npos, resume = 0;
  while (l < label.size()) {
    if (p < pattern.size() &&
        (pattern[p] == '?' ||
         absl::ascii_tolower(pattern[p]) == absl::ascii_tolower(label[l]))) {
      ++p;
      ++l;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = l;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      l = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool PatternMatches(absl::string_view pattern, absl::string_view host) {
  std::vector<absl::string_view> want = absl::StrSplit(pattern, '.');
  std::vector<absl::string_view> have = absl::StrSplit(host, '.');
  if (want.size() == 1) return LabelMatches(want[0], have[0]);
  if (want.size() != have.size()) return false;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!LabelMatches(want[i], have[i])) return false;
  }
  return true;
}

}  // namespace

std::string TokenText::SecretDigest() const { return Sha256Hex(secret); }

absl::StatusOr<TokenText> NewTokenText() {
  unsigned char id[kIdBytes];
  unsigned char secret[kSecretBytes];
  if (RAND_bytes(id, sizeof(id)) != 1 ||
      RAND_bytes(secret, sizeof(secret)) != 1)
    return absl::InternalError("the random source failed");
  TokenText token;
  token.id = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(id), sizeof(id)));
  token.secret = absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(secret), sizeof(secret)));
  return token;
}

absl::StatusOr<TokenText> ParseTokenText(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  const auto bad = absl::InvalidArgumentError(
      "an enrollment token is ID.SECRET, as `opsctl enroll token create` "
      "printed it");
  if (parts.size() != 2 || parts[0].size() != 2 * kIdBytes) return bad;
  for (char c : parts[0]) {
    if (!absl::ascii_isxdigit(c) || absl::ascii_isupper(c)) return bad;
  }
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(parts[1], &decoded) ||
      decoded.size() != kSecretBytes)
    return bad;
  return TokenText{std::string(parts[0]), std::string(parts[1])};
}

absl::Status CheckTokenRequest(const v1::EnrollmentTokenRequest& request,
                               uint32_t max_certificate_seconds) {
  if (request.roles().empty() || request.roles_size() > kMaxRoles)
    return absl::InvalidArgumentError(absl::StrCat(
        "give the hosts' roles (--roles), 1 to ", kMaxRoles, " of them"));
  for (const std::string& role : request.roles()) {
    if (!IsWord(role))
      return absl::InvalidArgumentError(absl::StrCat(
          "role \"", absl::CHexEscape(role.substr(0, kMaxWord)),
          "\": roles are 1 to 64 letters, digits, '-', '_' or '.'"));
    // Agents and opsctl know the controller by this role.
    if (absl::EqualsIgnoreCase(role, "controller"))
      return absl::InvalidArgumentError(
          "role \"controller\" is the controller's own: no host gets it");
  }
  if (!request.environment().empty() && !IsWord(request.environment()))
    return absl::InvalidArgumentError(
        "environment: 1 to 64 letters, digits, '-', '_' or '.'");
  if (request.names().empty() || request.names_size() > kMaxNames)
    return absl::InvalidArgumentError(absl::StrCat(
        "give the host names it may enroll (--names, globs such as "
        "'ip-10-7-*'), 1 to ",
        kMaxNames, " of them; '*' for any name in the host CA's domain"));
  for (const std::string& name : request.names()) {
    if (!IsPattern(name))
      return absl::InvalidArgumentError(absl::StrCat(
          "name pattern \"", absl::CHexEscape(name.substr(0, kMaxPattern)),
          "\": dot-separated labels of letters, digits, '-', '*' and '?'"));
  }
  if (request.uses() < 1 || request.uses() > kMaxUses)
    return absl::InvalidArgumentError(
        absl::StrCat("uses: 1 to ", kMaxUses, " hosts"));
  if (request.ttl_seconds() < kMinTtlSeconds ||
      request.ttl_seconds() > kMaxTtlSeconds)
    return absl::InvalidArgumentError(
        "ttl: a token may be used for 1 minute to 30 days");
  if (request.certificate_seconds() != 0 &&
      (request.certificate_seconds() < 60 ||
       request.certificate_seconds() > max_certificate_seconds))
    return absl::InvalidArgumentError(
        absl::StrCat("certificate life: 1 minute to ",
                     max_certificate_seconds / 3600, " hours"));
  return absl::OkStatus();
}

bool HostNameAllowed(
    const google::protobuf::RepeatedPtrField<std::string>& patterns,
    absl::string_view host) {
  for (const std::string& pattern : patterns) {
    if (PatternMatches(pattern, host)) return true;
  }
  return false;
}

}  // namespace opsagent
