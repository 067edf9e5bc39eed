// A service that fails its first start after FAILONCE appears and runs
// normally otherwise, like the runbook's supervisor that had to be
// restarted twice. Deletes FAILONCE when it fails, so the next start works.
// With only one argument it simply runs until killed.

#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc == 2 && unlink(argv[1]) == 0) {
    std::fprintf(stderr, "flaky_service: %s was present; failing this start\n",
                 argv[1]);
    return 1;
  }
  for (;;) pause();
}
