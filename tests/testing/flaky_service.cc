// A service that fails its first start after FAILONCE appears and runs
// normally otherwise, like the runbook's supervisor that had to be
// restarted twice. Deletes FAILONCE when it fails, so the next start works.
// With no argument it simply runs until killed; with `--fail MESSAGE` it
// never starts: it says MESSAGE on stderr and exits 1, as a service with a
// broken configuration does.

#include <unistd.h>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--fail") == 0) {
    std::fprintf(stderr, "%s\n", argv[2]);
    return 1;
  }
  if (argc == 2 && unlink(argv[1]) == 0) {
    std::fprintf(stderr, "flaky_service: %s was present; failing this start\n",
                 argv[1]);
    return 1;
  }
  for (;;) pause();
}
