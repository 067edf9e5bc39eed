#ifndef OPSAGENT_COMMON_UTF8_H_
#define OPSAGENT_COMMON_UTF8_H_

#include "absl/strings/string_view.h"

namespace opsagent {

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or
// code points above U+10FFFF). Untrusted text is checked before it is logged,
// stored or used as a path.
bool IsValidUtf8(absl::string_view text);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_UTF8_H_
