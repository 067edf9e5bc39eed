#include "controller/runbook/markdown_import.h"

#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "controller/runbook/alert_triage.h"

namespace opsagent {
namespace {

std::string Slug(absl::string_view text) {
  std::string slug;
  for (char c : text) {
    if (absl::ascii_isalnum(c)) {
      slug.push_back(absl::ascii_tolower(c));
    } else if (!slug.empty() && slug.back() != '-') {
      slug.push_back('-');
    }
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return slug.substr(0, 48);
}

// An alert heading as the style guide boils it: alert text is reduced to
// "NAME subject"; anything else is kept as written.
std::string BoilHeading(absl::string_view heading) {
  if (absl::StrContains(heading, "[FIRING")) {
    std::vector<Alert> alerts = ParseAlerts(heading);
    if (!alerts.empty()) return alerts.front().boiled;
  }
  return std::string(absl::StripAsciiWhitespace(heading));
}

// Collects a section's paragraphs and code blocks as guided steps.
class SectionBuilder {
 public:
  explicit SectionBuilder(
      google::protobuf::RepeatedPtrField<v1::RunbookStep>* steps)
      : steps_(steps) {}
  void Line(absl::string_view line) { chunk_.emplace_back(line); }
  void Break() {
    std::string text(absl::StripAsciiWhitespace(absl::StrJoin(chunk_, "\n")));
    chunk_.clear();
    if (text.empty() || steps_ == nullptr) return;
    v1::RunbookStep* step = steps_->Add();
    // The first line that says something (not a code fence) is the title.
    std::string title;
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (!absl::StartsWith(line, "```") &&
          !absl::StripAsciiWhitespace(line).empty()) {
        title = std::string(absl::StripAsciiWhitespace(line));
        break;
      }
    }
    step->set_title(title.size() > 72 ? title.substr(0, 69) + "..." : title);
    step->set_manual(text);
  }
  void Switch(google::protobuf::RepeatedPtrField<v1::RunbookStep>* steps) {
    Break();
    steps_ = steps;
  }

 private:
  google::protobuf::RepeatedPtrField<v1::RunbookStep>* steps_;
  std::vector<std::string> chunk_;
};

}  // namespace

absl::StatusOr<v1::Runbook> ImportRunbookMarkdown(absl::string_view markdown) {
  v1::Runbook runbook;
  absl::flat_hash_set<std::string> ids;
  std::string product;
  bool in_products = false, in_code = false, heading_run = false;
  v1::RunbookEntry* entry = nullptr;
  SectionBuilder section(nullptr);
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(markdown, '\n')) {
    ++line_number;
    const absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (absl::StartsWith(trimmed, "```")) {
      in_code = !in_code;
      section.Line(line);
      if (!in_code) section.Break();  // a code block is a step of its own
      continue;
    }
    if (in_code) {
      section.Line(line);
      continue;
    }
    if (absl::StartsWith(line, "# ")) {
      section.Switch(nullptr);
      in_products = absl::StripAsciiWhitespace(line.substr(2)) == "Products";
      entry = nullptr;
      continue;
    }
    if (!in_products) continue;
    if (absl::StartsWith(line, "## ")) {
      section.Switch(nullptr);
      product = std::string(absl::StripAsciiWhitespace(line.substr(3)));
      entry = nullptr;
      heading_run = false;
      continue;
    }
    if (absl::StartsWith(line, "### ")) {
      const std::string heading = BoilHeading(line.substr(4));
      if (product.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "line ", line_number, ": alert heading before any product"));
      }
      if (heading_run && entry != nullptr) {
        // Consecutive headings name alerts of one entry (the Reddit case).
        entry->set_summary(absl::StrCat(entry->summary(),
                                        entry->summary().empty() ? "" : "; ",
                                        "also: ", heading));
        continue;
      }
      std::string id = Slug(absl::StrCat(product, " ", heading));
      if (id.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", line_number,
                         ": the product and alert heading have no letters or "
                         "digits to name the entry"));
      }
      // Two entries with the same name stay apart: the second is "-2", ...
      for (int n = 2; !ids.insert(id).second; ++n)
        id = absl::StrCat(Slug(absl::StrCat(product, " ", heading)), "-", n);
      section.Switch(nullptr);
      entry = runbook.add_entry();
      entry->set_product(product);
      entry->set_alert(heading);
      entry->set_id(id);
      heading_run = true;
      continue;
    }
    if (entry == nullptr) continue;
    if (!trimmed.empty()) heading_run = false;
    if (trimmed == "_Diagnosis_") {
      section.Switch(entry->mutable_diagnosis());
    } else if (trimmed == "_Mitigation_") {
      section.Switch(entry->mutable_mitigation());
    } else if (trimmed.empty()) {
      section.Break();
    } else {
      section.Line(line);
    }
  }
  section.Break();
  if (in_code)
    return absl::InvalidArgumentError("the document ends inside a code block");
  if (runbook.entry().empty()) {
    return absl::InvalidArgumentError(
        "no entries found: expected \"# Products\", \"## Product\" and \"### "
        "alert\" headings");
  }
  return runbook;
}

}  // namespace opsagent
