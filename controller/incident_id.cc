#include "controller/incident_id.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace opsagent {

absl::StatusOr<int64_t> ParseIncidentId(absl::string_view id,
                                        absl::string_view field) {
  absl::string_view digits = id;
  int64_t number = 0;
  // SimpleAtoi alone would take "+7", " 7" and "07".
  const bool canonical =
      absl::ConsumePrefix(&digits, "INC-") && !digits.empty() &&
      digits.size() <= 18 && digits.front() != '0' &&
      std::all_of(digits.begin(), digits.end(),
                  [](char c) { return absl::ascii_isdigit(c); }) &&
      absl::SimpleAtoi(digits, &number) && number > 0;
  if (!canonical) {
    std::string shown(id.substr(0, 64));
    for (char& c : shown) {
      if (!absl::ascii_isprint(c)) c = '?';
    }
    return absl::InvalidArgumentError(absl::StrCat(
        field, " \"", shown, id.size() > 64 ? "..." : "",
        "\" is not an incident id: write it as INC-<number> (INC-7: "
        "upper-case INC, a dash, no leading zeros)"));
  }
  return number;
}

std::string FormatIncidentId(int64_t number) {
  return absl::StrCat("INC-", number);
}

}  // namespace opsagent
