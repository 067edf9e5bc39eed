#include "controller/server/operator_claims.h"

#include "absl/strings/str_cat.h"
#include "common/request_meta.h"

namespace opsagent {

absl::Status CheckOperatorClaims(const v1::OperatorClaims& claims) {
  for (auto [field, value] : {std::pair{"claims.os_user", &claims.os_user()},
                              {"claims.sudo_user", &claims.sudo_user()}}) {
    if (absl::Status text = CheckCallerText(field, *value, 256); !text.ok())
      return text;
  }
  if (claims.os_uid() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "claims.os_uid: ", claims.os_uid(), " is no user id (0 or more)"));
  }
  return absl::OkStatus();
}

}  // namespace opsagent
