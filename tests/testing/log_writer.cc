// A stand-in for a logging daemon: opens FILE, keeps it open and appends a
// line every 10 ms until killed. Used to prove truncation frees space while
// the writer keeps running.
//
//   log_writer [--no-append] [--name NAME] [--delete] FILE
//
// By default FILE is opened with O_APPEND, as loggers do; --no-append opens
// it without (the writer keeps its own offset, so after a truncation the
// file grows back sparse). --name sets the process name (/proc/PID/comm,
// any bytes: hostile names for tests). --delete unlinks FILE once open, so
// it is a deleted file held open (`lsof +L1`).

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  bool append = true, unlink_it = false;
  const char* name = nullptr;
  int i = 1;
  for (; i < argc - 1; ++i) {
    if (std::strcmp(argv[i], "--no-append") == 0) {
      append = false;
    } else if (std::strcmp(argv[i], "--delete") == 0) {
      unlink_it = true;
    } else if (std::strcmp(argv[i], "--name") == 0 && i + 1 < argc - 1) {
      name = argv[++i];
    } else {
      break;
    }
  }
  if (i != argc - 1) {
    std::fprintf(stderr,
                 "usage: log_writer [--no-append] [--name NAME] [--delete] "
                 "FILE\n");
    return 2;
  }
  const char* path = argv[i];
  if (name != nullptr) prctl(PR_SET_NAME, name, 0, 0, 0);
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : 0),
                0644);
  if (fd < 0) {
    std::perror(path);
    return 1;
  }
  if (!append) lseek(fd, 0, SEEK_END);
  if (unlink_it) unlink(path);
  const char line[] =
      "2026-11-25 xqueue_watcher: polled queue, 0 submissions\n";
  for (;;) {
    if (write(fd, line, std::strlen(line)) < 0) return 1;
    usleep(10000);
  }
}
