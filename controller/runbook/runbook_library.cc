#include "controller/runbook/runbook_library.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/text_proto_file.h"
#include "common/trusted_path.h"

namespace opsagent {
namespace {

bool IsId(const std::string& id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-';
  });
}

absl::Status CheckSteps(
    const std::string& where, const char* phase,
    const google::protobuf::RepeatedPtrField<v1::RunbookStep>& steps,
    const StepValidator& validate) {
  for (int i = 0; i < steps.size(); ++i) {
    const v1::RunbookStep& step = steps[i];
    const std::string what = absl::StrCat(where, " ", phase, "[", i, "]");
    if (step.opsctl().empty() == step.manual().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": give either opsctl arguments or manual instructions"));
    }
    if (step.automatic() &&
        (std::string_view(phase) != "diagnosis" || step.opsctl().empty())) {
      return absl::InvalidArgumentError(
          absl::StrCat(what,
                       ": only diagnosis steps that run opsctl may be "
                       "automatic (nothing else runs without a person)"));
    }
    if (step.automatic() &&
        (step.opsctl_size() < 2 || step.opsctl(1) != "{target}")) {
      return absl::InvalidArgumentError(absl::StrCat(
          what,
          ": an automatic step runs on the alert's host alone: its host "
          "argument must be {target}"));
    }
    if (step.opsctl().empty()) continue;
    const std::vector<std::string> args =
        ExpandStep(step, {{"target", "example"},
                          {"host", "example"},
                          {"environment", "example"}});
    if (absl::Status status = validate(args, step.automatic()); !status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": ", status.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> ExpandStep(const v1::RunbookStep& step,
                                    const RunbookVars& vars) {
  std::vector<std::pair<std::string, std::string>> replacements;
  for (const auto& [name, value] : vars)
    replacements.emplace_back(absl::StrCat("{", name, "}"), value);
  std::vector<std::string> args;
  for (const std::string& arg : step.opsctl())
    args.push_back(absl::StrReplaceAll(arg, replacements));
  return args;
}

std::string FillText(absl::string_view text, const RunbookVars& vars) {
  std::vector<std::pair<std::string, std::string>> replacements;
  for (const auto& [name, value] : vars) {
    if (!value.empty())
      replacements.emplace_back(
          absl::StrCat("<", absl::AsciiStrToUpper(name), ">"), value);
  }
  return absl::StrReplaceAll(text, replacements);
}

absl::StatusOr<RunbookLibrary> RunbookLibrary::FromProto(
    const v1::Runbook& runbook, const std::string& origin,
    const StepValidator& validate) {
  std::set<std::string> ids;
  std::vector<v1::RunbookEntry> entries;
  for (const v1::RunbookEntry& entry : runbook.entry()) {
    const std::string where = absl::StrCat(origin, ": entry ", entry.id());
    if (!IsId(entry.id())) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ": entry id \"", entry.id(),
                       "\" must be lower-case letters, digits and -"));
    }
    if (!ids.insert(entry.id()).second)
      return absl::InvalidArgumentError(
          absl::StrCat(where, " is defined twice"));
    if (entry.alert().empty())
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": alert is required"));
    // Matched exactly (MatchEntry): a blank or a space could never match.
    for (auto [field, values] : {std::pair{"alert_names", &entry.alert_names()},
                                 {"roles", &entry.roles()}}) {
      for (const std::string& value : *values) {
        if (value.empty() ||
            std::any_of(value.begin(), value.end(), [](char c) {
              return absl::ascii_isspace(c) || absl::ascii_iscntrl(c);
            }))
          return absl::InvalidArgumentError(
              absl::StrCat(where, ": ", field, " \"", value,
                           "\" must be one word (an alertname or an inventory "
                           "role, matched exactly)"));
      }
    }
    for (const std::string& heading : entry.headings()) {
      if (std::none_of(heading.begin(), heading.end(),
                       [](char c) { return absl::ascii_isalnum(c); }))
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": headings \"", heading,
            "\" has no letters or digits: it would match no text"));
    }
    for (const RunbookPhase& phase : RunbookPhases(entry)) {
      if (absl::Status status =
              CheckSteps(where, phase.name, *phase.steps, validate);
          !status.ok())
        return status;
    }
    entries.push_back(entry);
  }
  return RunbookLibrary(std::move(entries));
}

absl::StatusOr<RunbookLibrary> RunbookLibrary::Load(
    const std::string& directory, const StepValidator& validate) {
  if (absl::Status trusted = CheckTrustedPath(
          AbsoluteFromWorkingDirectory(directory), TrustedKind::kDirectory);
      !trusted.ok() && !absl::IsNotFound(trusted))
    return trusted;
  DIR* dir = opendir(directory.c_str());
  if (dir == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no runbooks directory at ", directory,
                     " (set `runbooks` in the operator config)"));
  }
  std::vector<std::string> files;
  while (dirent* entry = readdir(dir)) {
    if (absl::EndsWith(entry->d_name, ".textproto"))
      files.push_back(entry->d_name);
  }
  closedir(dir);
  std::sort(files.begin(), files.end());
  v1::Runbook all;
  std::set<std::string> seen;
  for (const std::string& file : files) {
    const std::string path = absl::StrCat(directory, "/", file);
    // Read at each use, so checked at each use: a file others could have
    // written (or a link through a place they could change) is no runbook,
    // nor anything but a regular file (a FIFO would hold every reader).
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is not a regular file: not read"));
    }
    if (absl::Status trusted = CheckTrustedPath(
            AbsoluteFromWorkingDirectory(path), TrustedKind::kFile);
        !trusted.ok())
      return trusted;
    v1::Runbook one;
    if (absl::Status status = LoadTextProtoFile(path, &one); !status.ok())
      return status;
    absl::StatusOr<RunbookLibrary> checked = FromProto(one, path, validate);
    if (!checked.ok()) return checked.status();
    for (const v1::RunbookEntry& entry : one.entry()) {
      if (!seen.insert(entry.id()).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": entry ", entry.id(), " is also defined in another file"));
      }
      *all.add_entry() = entry;
    }
  }
  return FromProto(all, directory, validate);
}

const v1::RunbookEntry* RunbookLibrary::Find(absl::string_view id) const {
  for (const v1::RunbookEntry& entry : entries_) {
    if (entry.id() == id) return &entry;
  }
  return nullptr;
}

std::vector<RunbookPhase> RunbookPhases(const v1::RunbookEntry& entry) {
  return {{"diagnosis", &entry.diagnosis()},
          {"mitigation", &entry.mitigation()},
          {"verification", &entry.verification()}};
}

}  // namespace opsagent
