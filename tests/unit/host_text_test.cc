// Text from hosts: carried losslessly in valid UTF-8, shown without anything
// a terminal would act on, and safe in a spreadsheet.

#include "common/host_text.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Names a local user can give a file or a process.
const std::string kHostile[] = {
    std::string("bad\xff\xfe.log"),           // not UTF-8
    "title\x1b]0;owned\x07.log",              // OSC 0: window title
    "clip\x1b]52;c;ZWNobyBwd25lZA==\x07",     // OSC 52: clipboard
    "erase\x1b[2K\r99G\t/edx/var/important",  // CSI 2K, CR, tab
    "new\nline",                              // a forged line
    "c1\xc2\x9b"
    "31mred",                   // C1 CSI as UTF-8
    "bidi\xe2\x80\xaegol.exe",  // U+202E
    "back\\slash\\x41",         // looks like escapes
    std::string("nul\0byte", 8),
    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac",  // fine: kept as is
};

TEST(HostTextTest, EscapingIsLosslessAndYieldsPrintableUtf8) {
  for (const std::string& raw : kHostile) {
    const std::string escaped = EscapeHostBytes(raw);
    EXPECT_TRUE(IsPrintableText(escaped)) << escaped;
    absl::StatusOr<std::string> back = UnescapeHostBytes(escaped);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, raw);
  }
  EXPECT_EQ(EscapeHostBytes("bad\xff.log"), "bad\\xff.log");
  EXPECT_EQ(EscapeHostBytes("a\\b"), "a\\\\b");
  EXPECT_EQ(EscapeHostBytes("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(EscapeHostBytes("two\nlines", LineBreaks::kKeep), "two\nlines");
}

TEST(HostTextTest, UnescapingRefusesWhatEscapingNeverProduces) {
  for (const char* bad : {"a\\", "a\\q", "a\\x4", "a\\xZZ"}) {
    EXPECT_FALSE(UnescapeHostBytes(bad).ok()) << bad;
  }
}

TEST(HostTextTest, TerminalSafeLeavesNothingATerminalActsOn) {
  for (const std::string& raw : kHostile) {
    const std::string shown = TerminalSafe(raw);
    EXPECT_TRUE(IsPrintableText(shown)) << shown;
    EXPECT_THAT(shown, Not(HasSubstr("\x1b")));
    EXPECT_THAT(shown, Not(HasSubstr("\n")));
  }
  EXPECT_EQ(TerminalSafe("t\x1b]0;x\x07"), "t\\x1b]0;x\\x07");
  EXPECT_EQ(TerminalSafe("c1\xc2\x9b"), "c1\\u009b");
  EXPECT_EQ(TerminalSafe("bidi\xe2\x80\xae"), "bidi\\u202e");
  EXPECT_EQ(TerminalSafe("\xff"), "\\xff");
  // What shows as nothing, so that a value looks like another: zero-width
  // space, word joiner, BOM, and the line and paragraph separators.
  EXPECT_EQ(TerminalSafe("/var/log\u200b"), "/var/log\\u200b");
  EXPECT_EQ(TerminalSafe("a\u2060b\ufeffc"), "a\\u2060b\\ufeffc");
  EXPECT_EQ(TerminalSafe("x\u2028y\u2029z"), "x\\u2028y\\u2029z");
  EXPECT_FALSE(IsPrintableText("CHG-1\u200d"));
  // Accented and other scripts' letters are text, kept as they are.
  EXPECT_EQ(TerminalSafe("caf\u00e9 \u65e5\u672c"), "caf\u00e9 \u65e5\u672c");
  // Already escaped text is shown as it is.
  EXPECT_EQ(TerminalSafe(EscapeHostBytes("bad\xff")), "bad\\xff");
  EXPECT_EQ(TerminalSafe("a\tb\nc", LineBreaks::kKeep), "a\tb\nc");
}

TEST(HostTextTest, TheStreamEscaperHandlesSequencesSplitAcrossChunks) {
  const std::string text = "caf\xc3\xa9 \x1b[2K \xe2\x80\xae end\xff";
  for (size_t split = 0; split <= text.size(); ++split) {
    TerminalEscaper escaper;
    std::string out = escaper.Feed(text.substr(0, split));
    out += escaper.Feed(text.substr(split));
    out += escaper.Flush();
    EXPECT_EQ(out, TerminalSafe(text, LineBreaks::kKeep)) << split;
  }
}

TEST(HostTextTest, CsvFieldsCannotBecomeFormulas) {
  EXPECT_EQ(CsvField("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\"");
  EXPECT_EQ(CsvField("+1"), "\"'+1\"");
  EXPECT_EQ(CsvField("-2"), "\"'-2\"");
  EXPECT_EQ(CsvField("@SUM(A1)"), "\"'@SUM(A1)\"");
  EXPECT_EQ(CsvField("\tx"), "\"\\x09x\"");
  EXPECT_EQ(CsvField("plain, text"), "\"plain, text\"");
  EXPECT_EQ(CsvField("line\nbreak"), "\"line\\x0abreak\"");
}

}  // namespace
}  // namespace opsagent
