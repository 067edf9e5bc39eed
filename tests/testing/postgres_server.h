#ifndef OPSAGENT_TESTS_TESTING_POSTGRES_SERVER_H_
#define OPSAGENT_TESTS_TESTING_POSTGRES_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/subprocess.h"

namespace opsagent::testing {

// A real PostgreSQL 15 server from Debian's binaries
// (/usr/lib/postgresql/15/bin), made with initdb in a directory of its own
// under /tmp and run as an unprivileged user: the test's own, or, when the
// test runs as root (CI), the `postgres` user the package creates, through
// setpriv (PostgreSQL refuses to run as root). It listens on a Unix socket
// in its directory only (no TCP port to collide on), trusts its local
// superuser `opsagent`, and syncs to disk as a production server does.
// Stopped (fast shutdown) and its directory removed when destroyed.
class PostgresServer {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();
  ~PostgresServer();

  // A libpq connection string for `database` on this server.
  std::string ConnInfo(const std::string& database = "postgres") const;
  // Creates `database` (CREATE DATABASE), returning its ConnInfo.
  absl::StatusOr<std::string> CreateDatabase(const std::string& database);

  // A fast shutdown (SIGINT: sessions ended, transactions rolled back),
  // and a start again on the same directory and socket.
  absl::Status Stop();
  absl::Status Restart();
  bool running() const { return process_ != nullptr; }

 private:
  explicit PostgresServer(std::string dir) : dir_(std::move(dir)) {}
  // argv prefixed with setpriv when running as root.
  std::vector<std::string> AsServerUser(std::vector<std::string> argv) const;
  absl::Status Launch();

  const std::string dir_;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace opsagent::testing

#endif  // OPSAGENT_TESTS_TESTING_POSTGRES_SERVER_H_
