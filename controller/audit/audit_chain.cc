#include "controller/audit/audit_chain.h"

#include <openssl/sha.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace opsagent {
namespace {

void Field(std::string* out, absl::string_view value) {
  absl::StrAppend(out, value.size(), ":", value, ";");
}
void Field(std::string* out, int64_t value) { Field(out, absl::StrCat(value)); }

}  // namespace

std::string CanonicalIntent(int64_t id, const v1::AuditIntent& i) {
  std::string out = "intent;";
  Field(&out, id);
  for (const std::string* text :
       {&i.request_id(), &i.run_id(), &i.os_user(), &i.cert_identity(),
        &i.host(), &i.address(), &i.operation(), &i.parameters_json(),
        &i.reason(), &i.incident()}) {
    Field(&out, *text);
  }
  Field(&out, i.started_at_ms());
  Field(&out, int64_t{i.dry_run()});
  Field(&out, int64_t{i.mutating()});
  if (i.has_os_uid() && i.os_uid() >= 0) {
    Field(&out, i.os_uid());
    Field(&out, i.sudo_user());
  }
  // Intents before schema 7 had no ticket, nor have those without one: they
  // keep their form. The tag keeps a ticket from reading as another field.
  if (!i.ticket().empty()) {
    Field(&out, "ticket");
    Field(&out, i.ticket());
  }
  // Likewise the controller, on a log several controllers share.
  if (!i.controller().empty()) {
    Field(&out, "controller");
    Field(&out, i.controller());
  }
  return out;
}

std::string CanonicalOutcome(int64_t id, const v1::AuditResult& r) {
  std::string out = "outcome;";
  Field(&out, id);
  Field(&out, OutcomeName(r.outcome()));
  Field(&out, r.finished_at_ms());
  Field(&out, r.error_code());
  Field(&out, r.message());
  Field(&out, r.summary());
  // Outcomes recorded before schema 4 had no result; they keep their form.
  if (!r.result_json().empty()) Field(&out, r.result_json());
  // Nor had outcomes before schema 6 the agent's signature.
  if (!r.agent_result_sha256().empty()) {
    Field(&out, r.agent_result_sha256());
    Field(&out, r.agent_signature());
  }
  return out;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  // Verification hashes every event twice: no formatting per byte.
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(2 * sizeof(digest), '\0');
  for (size_t i = 0; i < sizeof(digest); ++i) {
    hex[2 * i] = kDigits[digest[i] >> 4];
    hex[2 * i + 1] = kDigits[digest[i] & 0xf];
  }
  return hex;
}

std::string GenesisHash(int64_t chain_start) {
  // A database created with the chain starts at row 0 and keeps the form
  // older databases were chained with.
  if (chain_start == 0) return std::string(64, '0');
  return Sha256Hex(
      absl::StrCat("opsagent audit chain after row ", chain_start));
}

std::string ChainHash(const std::string& previous_hash,
                      const std::string& digest) {
  return Sha256Hex(absl::StrCat(previous_hash, digest));
}

}  // namespace opsagent
