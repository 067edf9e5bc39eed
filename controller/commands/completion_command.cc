// `opsctl completion bash|zsh`: a shell completion script, made from the
// commands as this opsctl has them, whose host, incident and runbook
// names come from `opsctl completion words KIND` as the user types.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/commands/command.h"
#include "controller/commands/fleet.h"
#include "controller/exit_codes.h"

namespace opsagent {
namespace {

constexpr absl::Duration kWordsTimeout = absl::Seconds(3);

// Each command's flags, as a bash `case` arm.
std::string FlagCases() {
  std::string cases;
  for (const Command& command : AllCommands()) {
    std::vector<std::string> flags;
    for (const FlagSpec& flag : Invocation::GlobalFlags())
      flags.push_back("--" + flag.name);
    for (const FlagSpec& flag : command.flags)
      flags.push_back("--" + flag.name);
    absl::StrAppend(&cases, "    ", command.name, ") flags=\"",
                    absl::StrJoin(flags, " "), "\" ;;\n");
  }
  return cases;
}

std::string BashScript() {
  std::vector<std::string> names;
  for (const Command& command : AllCommands()) names.push_back(command.name);
  return absl::StrCat(
      R"sh(# opsctl completion for bash; made by `opsctl completion bash`.
# Install: opsctl completion bash > /etc/bash_completion.d/opsctl
# Hosts, incidents and runbook entries come from the controller (or the
# inventory with --direct) as you type: `opsctl completion words KIND`.
_opsctl_words() {
  opsctl completion words "$1" 2>/dev/null
}
_opsctl() {
  local cur prev command flags
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W ")sh",
      absl::StrJoin(names, " "), R"sh(" -- "$cur"))
    return
  fi
  command="${COMP_WORDS[1]}"
  case "$prev" in
    --output|-o) COMPREPLY=($(compgen -W "table json csv markdown" -- "$cur")); return ;;
    --incident) COMPREPLY=($(compgen -W "$(_opsctl_words incidents)" -- "$cur")); return ;;
    --host|--target) COMPREPLY=($(compgen -W "$(_opsctl_words hosts)" -- "$cur")); return ;;
    --config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  case "$command" in
)sh",
      FlagCases(), R"sh(  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  case "$command" in
    incident)
      if [ "$COMP_CWORD" -eq 2 ]; then
        COMPREPLY=($(compgen -W "show link ack note resolve reopen silence unsilence" -- "$cur"))
      elif [ "$COMP_CWORD" -eq 3 ]; then
        COMPREPLY=($(compgen -W "$(_opsctl_words incidents)" -- "$cur"))
      fi ;;
    runbook)
      if [ "$COMP_CWORD" -eq 2 ]; then
        COMPREPLY=($(compgen -W "list show run import" -- "$cur"))
      elif [ "$COMP_CWORD" -eq 3 ]; then
        COMPREPLY=($(compgen -W "$(_opsctl_words runbooks)" -- "$cur"))
      fi ;;
    audit) [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "verify export reconcile" -- "$cur")) ;;
    completion) [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "bash zsh" -- "$cur")) ;;
    incidents|hosts|triage) ;;
    *) [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "$(_opsctl_words hosts)" -- "$cur")) ;;
  esac
}
complete -F _opsctl opsctl
)sh");
}

std::string ZshScript() {
  return absl::StrCat(
      "#compdef opsctl\n"
      "# opsctl completion for zsh; made by `opsctl completion zsh`.\n"
      "# Install: opsctl completion zsh > \"${fpath[1]}/_opsctl\"\n"
      "# zsh runs the bash completion through bashcompinit.\n"
      "autoload -U +X bashcompinit && bashcompinit\n",
      BashScript());
}

// One word per line: what completes KIND now, or nothing (exit 1) when it
// cannot be had quickly.
int PrintWords(Invocation& invocation, const std::string& kind) {
  std::vector<std::string> words;
  if (kind == "hosts") {
    if (invocation.via_controller()) {
      absl::StatusOr<v1::ListHostsReply> listed = invocation.AskController(
          &ControllerStub::ListHosts, v1::ListHostsRequest(), kWordsTimeout);
      if (!listed.ok()) return kExitUnreachable;
      for (const v1::HostState& host : listed->hosts())
        words.push_back(host.name());
    } else {
      absl::StatusOr<const Inventory*> inventory = invocation.inventory();
      if (!inventory.ok()) return kExitUsage;
      for (const v1::Host& host : (*inventory)->hosts())
        words.push_back(host.name());
    }
  } else if (kind == "incidents") {
    if (!invocation.via_controller()) return kExitUsage;
    absl::StatusOr<v1::ListIncidentsReply> listed =
        invocation.AskController(&ControllerStub::ListIncidents,
                                 v1::ListIncidentsRequest(), kWordsTimeout);
    if (!listed.ok()) return kExitUnreachable;
    for (const v1::Incident& incident : listed->incidents())
      words.push_back(incident.id());
  } else if (kind == "runbooks") {
    absl::StatusOr<RunbookLibrary> library = FleetOf(invocation)->Runbooks();
    if (!library.ok()) return kExitUsage;
    for (const v1::RunbookEntry& entry : library->entries())
      words.push_back(entry.id());
  } else {
    return CommandFailed(invocation, kExitUsage,
                         "completion words takes hosts, incidents or runbooks");
  }
  // Names from the network go to a shell's word list: one per line, and
  // only those made of what host names, incident ids and entry ids are.
  for (const std::string& word : words) {
    // Nor one that opsctl would read as a flag ("--yes").
    if (word.empty() || word.size() > 253 || word[0] == '-' ||
        word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                               "TUVWXYZ0123456789._-") != std::string::npos)
      continue;
    std::fprintf(invocation.out(), "%s\n", word.c_str());
  }
  return kExitOk;
}

int RunCompletion(Invocation& invocation, const ParsedArgs& args) {
  const std::vector<std::string>& words = args.positional();
  if (words[0] == "words" && words.size() == 2)
    return PrintWords(invocation, words[1]);
  if (words.size() == 1 && (words[0] == "bash" || words[0] == "zsh")) {
    std::fprintf(invocation.out(), "%s",
                 (words[0] == "bash" ? BashScript() : ZshScript()).c_str());
    return kExitOk;
  }
  return CommandFailed(invocation, kExitUsage,
                       "usage: opsctl completion bash|zsh");
}

Command CompletionCommand() {
  return {"completion",
          "bash|zsh",
          "a shell completion script (hosts, incidents, runbook entries)",
          "Prints a completion script for bash or zsh: commands and their "
          "flags, and the\n"
          "names of hosts (the controller's live inventory, or the inventory "
          "with --direct),\n"
          "open incidents and runbook entries, asked for as you type (`opsctl "
          "completion\n"
          "words hosts|incidents|runbooks`, 3 s at most, nothing when the "
          "controller does\n"
          "not answer).\n\n"
          "Examples:\n"
          "  opsctl completion bash > /etc/bash_completion.d/opsctl\n"
          "  opsctl completion zsh > \"${fpath[1]}/_opsctl\"\n"
          "  source <(opsctl completion bash)\n",
          {},
          1,
          2,
          RunCompletion,
          {OutputFormat::kTable}};
}

}  // namespace

OPSCTL_COMMAND(kHosts, CompletionCommand);

}  // namespace opsagent
