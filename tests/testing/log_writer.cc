// A stand-in for a logging daemon: opens FILE with O_APPEND, as loggers do,
// keeps it open and appends a line every 10 ms until killed. Used to prove
// truncation frees space while the writer keeps running.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: log_writer FILE\n");
    return 2;
  }
  int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror(argv[1]);
    return 1;
  }
  const char line[] =
      "2026-11-25 xqueue_watcher: polled queue, 0 submissions\n";
  for (;;) {
    if (write(fd, line, std::strlen(line)) < 0) return 1;
    usleep(10000);
  }
}
