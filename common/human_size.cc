#include "common/human_size.h"

#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace opsagent {
namespace {

constexpr char kUnits[] = "BKMGTPE";

}  // namespace

std::string FormatHumanSize(uint64_t bytes) {
  if (bytes < 1024) return absl::StrFormat("%dB", bytes);
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) {
    value /= 1024;
    ++unit;
  }
  // coreutils rounds up (ceiling) so that a size is never under-reported.
  if (value < 10) {
    double rounded = std::ceil(value * 10) / 10;
    if (rounded < 10) return absl::StrFormat("%.1f%c", rounded, kUnits[unit]);
    value = rounded;
  }
  double whole = std::ceil(value);
  if (whole >= 1024 && unit < 6)
    return absl::StrFormat("1.0%c", kUnits[unit + 1]);
  return absl::StrFormat("%.0f%c", whole, kUnits[unit]);
}

absl::StatusOr<uint64_t> ParseHumanSize(absl::string_view text) {
  std::string s = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(text));
  if (absl::EndsWith(s, "IB")) s.resize(s.size() - 2);
  int shift = 0;
  if (!s.empty() && !absl::ascii_isdigit(s.back())) {
    char unit = s.back();
    s.pop_back();
    switch (unit) {
      case 'B':
        shift = 0;
        break;
      case 'K':
        shift = 10;
        break;
      case 'M':
        shift = 20;
        break;
      case 'G':
        shift = 30;
        break;
      case 'T':
        shift = 40;
        break;
      default:
        return absl::InvalidArgumentError(absl::StrFormat(
            "size \"%s\": unknown unit '%c' (use B, K, M, G or T)", text,
            unit));
    }
  }
  double value;
  if (s.empty() || !absl::SimpleAtod(s, &value) || value < 0 ||
      !std::isfinite(value)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "size \"%s\" is not a number with an optional unit (e.g. 512M)", text));
  }
  double bytes = std::ldexp(value, shift);
  if (bytes >= static_cast<double>(std::numeric_limits<uint64_t>::max())) {
    return absl::InvalidArgumentError(
        absl::StrFormat("size \"%s\" is too large", text));
  }
  return static_cast<uint64_t>(bytes);
}

}  // namespace opsagent
