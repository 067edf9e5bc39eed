#include "common/utf8.h"

namespace opsagent {

Utf8Sequence DecodeUtf8At(absl::string_view text, size_t i) {
  const unsigned char lead = text[i];
  size_t length;
  uint32_t code_point;
  unsigned char min_second = 0x80, max_second = 0xBF;
  if (lead < 0x80) {
    return {1, lead};
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code_point = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code_point = lead & 0x0F;
    if (lead == 0xE0) min_second = 0xA0;  // overlong
    if (lead == 0xED) max_second = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code_point = lead & 0x07;
    if (lead == 0xF0) min_second = 0x90;  // overlong
    if (lead == 0xF4) max_second = 0x8F;  // above U+10FFFF
  } else {
    return {};
  }
  if (text.size() - i < length) return {};
  for (size_t k = 1; k < length; ++k) {
    const unsigned char c = text[i + k];
    const unsigned char low = k == 1 ? min_second : 0x80;
    const unsigned char high = k == 1 ? max_second : 0xBF;
    if (c < low || c > high) return {};
    code_point = (code_point << 6) | (c & 0x3F);
  }
  return {length, code_point};
}

bool IsValidUtf8(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const Utf8Sequence sequence = DecodeUtf8At(text, i);
    if (sequence.length == 0) return false;
    i += sequence.length;
  }
  return true;
}

absl::string_view Utf8Prefix(absl::string_view text, size_t bytes) {
  if (text.size() <= bytes) return text;
  while (bytes > 0 && (static_cast<unsigned char>(text[bytes]) & 0xc0) == 0x80)
    --bytes;
  return text.substr(0, bytes);
}

}  // namespace opsagent
