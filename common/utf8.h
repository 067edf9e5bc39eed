#ifndef OPSAGENT_COMMON_UTF8_H_
#define OPSAGENT_COMMON_UTF8_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace opsagent {

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or
// code points above U+10FFFF). Untrusted text is checked before it is logged,
// stored or used as a path.
bool IsValidUtf8(absl::string_view text);

// The well-formed UTF-8 sequence starting at text[i]: its length (1 to 4)
// and the code point it encodes, or length 0 when the bytes there are not
// well-formed (a lone continuation byte, an overlong form, a truncated
// sequence, ...).
struct Utf8Sequence {
  size_t length = 0;
  uint32_t code_point = 0;
};
Utf8Sequence DecodeUtf8At(absl::string_view text, size_t i);

// The longest prefix of UTF-8 `text` of at most `bytes` that does not cut
// a character in two.
absl::string_view Utf8Prefix(absl::string_view text, size_t bytes);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_UTF8_H_
