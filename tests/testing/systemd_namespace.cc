// Boots Debian's systemd as PID 1 of a private PID and mount namespace, for
// tests that need the real service manager without touching the host's:
//   systemd_namespace UNIT_DIR TARGET
// The namespace gets its own /proc and a tmpfs on /run (so systemd's
// private socket is the namespace's own, and so is journald's runtime
// journal under /run/log/journal), and a tmpfs over /var/log/journal, so
// nothing it logs lands in the host's journal. Units come from UNIT_DIR and
// then systemd's own unit directories (SYSTEMD_UNIT_PATH ending in ":").
// Killing this process's child (the namespace's PID 1) with SIGKILL ends
// everything inside.

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: systemd_namespace UNIT_DIR TARGET\n");
    return 2;
  }
  if (unshare(CLONE_NEWPID | CLONE_NEWNS) != 0) {
    std::perror("unshare");
    return 1;
  }
  pid_t init = fork();
  if (init < 0) return 1;
  if (init > 0) {
    std::printf("%d\n", init);  // the namespace's PID 1, as the host sees it
    std::fflush(stdout);
    int status;
    waitpid(init, &status, 0);
    return 0;
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
            nullptr) != 0 ||
      mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755") != 0) {
    std::perror("mount");
    return 1;
  }
  if (access("/var/log/journal", F_OK) == 0 &&
      mount("tmpfs", "/var/log/journal", "tmpfs", MS_NOSUID | MS_NODEV,
            "mode=755") != 0) {
    std::perror("mount /var/log/journal");
    return 1;
  }
  setenv("SYSTEMD_UNIT_PATH", (std::string(argv[1]) + ":").c_str(), 1);
  const std::string unit = std::string("--unit=") + argv[2];
  execl("/lib/systemd/systemd", "/lib/systemd/systemd", "--system",
        unit.c_str(), "--log-target=console", "--show-status=no",
        static_cast<char*>(nullptr));
  std::perror("exec /lib/systemd/systemd");
  return 1;
}
