#ifndef OPSAGENT_COMMON_PROCESS_SETUP_H_
#define OPSAGENT_COMMON_PROCESS_SETUP_H_

#include <signal.h>

#include "absl/strings/string_view.h"

namespace opsagent {

// What the daemons (opsagent, opsctld) set up before they parse flags: --help
// lists only the flags of `main_file` (not those of every linked library),
// --version prints "`program` VERSION", and `usage` heads --help.
void SetDaemonUsage(absl::string_view program, absl::string_view main_file,
                    absl::string_view usage);

// Answers --help (also -h and --helpshort) when `argv` asks for it: the
// usage SetDaemonUsage set, then the daemon's own flags with their defaults,
// on stdout; true when it did, and the daemon then exits 0 (Abseil's own
// --help exits 1, which scripts and packaging tools read as a failure).
bool PrintDaemonHelpIfAsked(int argc, char** argv);

// Turns off Abseil's mutex deadlock detection, which Debian's build leaves
// on: it keeps a graph of every mutex, and with a mutex per controller link
// it took a fifth of the controller's CPU in a fan-out. A debugging aid, off
// in every binary.
void DisableMutexDeadlockDetection();

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and the threads
// it starts afterwards, so that they can be taken synchronously with
// WaitForTerminationSignal on the returned set; call it before gRPC starts
// its threads. Also ignores SIGPIPE: OpenSSL writes TLS records with
// write(2), so a client of the HTTPS listener that goes away mid-answer
// would otherwise end the daemon.
sigset_t BlockTerminationSignals();

// Waits for SIGTERM or SIGINT and returns it. SIGHUP, an administrator's
// reload habit, is logged and changes nothing: left to its default it would
// end the daemon, and systemd counts that as a clean exit, so
// Restart=on-failure would leave the host without its daemon. (TLS files are
// re-read by themselves; a configuration change needs a restart.)
int WaitForTerminationSignal(const sigset_t& signals);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_PROCESS_SETUP_H_
