#include "tests/testing/postgres_server.h"

#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/postgres/pg_connection.h"

namespace opsagent::testing {
namespace {

constexpr char kBin[] = "/usr/lib/postgresql/15/bin";

// Owns `path` (recursively) by `user`.
absl::Status Chown(const std::string& path, const passwd& user) {
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(path, error);
       !error && it != std::filesystem::recursive_directory_iterator();
       it.increment(error)) {
    if (lchown(it->path().c_str(), user.pw_uid, user.pw_gid) != 0)
      return absl::InternalError(absl::StrCat("chown ", it->path().string()));
  }
  if (lchown(path.c_str(), user.pw_uid, user.pw_gid) != 0)
    return absl::InternalError(absl::StrCat("chown ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  if (access(absl::StrCat(kBin, "/initdb").c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        "PostgreSQL 15 is not installed (apt-get install postgresql-15)");
  }
  // Under /tmp: the test's own temporary directory may sit under a home
  // directory the server's user cannot enter.
  char pattern[] = "/tmp/opsagent-pg-XXXXXX";
  if (mkdtemp(pattern) == nullptr)
    return absl::InternalError("mkdtemp under /tmp failed");
  std::unique_ptr<PostgresServer> server(new PostgresServer(pattern));
  if (geteuid() == 0) {
    const passwd* user = getpwnam("postgres");
    if (user == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, and there is no user `postgres` to run "
          "PostgreSQL as (the postgresql-15 package makes it)");
    }
    if (absl::Status owned = Chown(server->dir_, *user); !owned.ok())
      return owned;
  }
  absl::StatusOr<ProgramResult> initdb =
      RunProgram(server->AsServerUser({absl::StrCat(kBin, "/initdb"), "-D",
                                       server->dir_ + "/data", "-U", "opsagent",
                                       "--auth=trust", "-E", "UTF8",
                                       "--locale=C.UTF-8", "--no-sync"}),
                 absl::Minutes(2));
  if (!initdb.ok()) return initdb.status();
  if (initdb->exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("initdb failed: ", initdb->stderr_text));
  }
  if (absl::Status launched = server->Launch(); !launched.ok()) return launched;
  return server;
}

std::vector<std::string> PostgresServer::AsServerUser(
    std::vector<std::string> argv) const {
  if (geteuid() != 0) return argv;
  std::vector<std::string> wrapped = {"/usr/bin/setpriv", "--reuid=postgres",
                                      "--regid=postgres", "--init-groups",
                                      "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

absl::Status PostgresServer::Launch() {
  SubprocessOptions options;
  options.argv =
      AsServerUser({absl::StrCat(kBin, "/postgres"), "-D", dir_ + "/data", "-k",
                    dir_, "-c", "listen_addresses=", "-c",
                    "max_connections=200", "-c", "shared_buffers=64MB"});
  options.stderr_path = dir_ + "/postgres.log";
  absl::StatusOr<Subprocess> started = Subprocess::Start(options);
  if (!started.ok()) return started.status();
  process_ = std::make_unique<Subprocess>(*std::move(started));
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  absl::Status last;
  while (absl::Now() < deadline) {
    absl::StatusOr<std::unique_ptr<PgConnection>> probe =
        PgConnection::Connect(ConnInfo(), "test server");
    if (probe.ok()) return absl::OkStatus();
    last = probe.status();
    if (process_->Exited()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::UnavailableError(absl::StrCat(
      "PostgreSQL did not start (", dir_, "/postgres.log): ", last.message()));
}

PostgresServer::~PostgresServer() {
  Stop().IgnoreError();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string PostgresServer::ConnInfo(const std::string& database) const {
  return absl::StrCat("host=", dir_, " user=opsagent dbname=", database);
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase(
    const std::string& database) {
  absl::StatusOr<std::unique_ptr<PgConnection>> admin =
      PgConnection::Connect(ConnInfo(), "test server");
  if (!admin.ok()) return admin.status();
  if (absl::Status created = (*admin)->Exec(
          "creating a database", absl::StrCat("CREATE DATABASE ", database));
      !created.ok())
    return created;
  return ConnInfo(database);
}

absl::Status PostgresServer::Stop() {
  if (process_ == nullptr) return absl::OkStatus();
  process_->Signal(SIGINT);
  absl::StatusOr<int> ended = process_->Wait(absl::Seconds(30));
  process_.reset();  // killed if it did not end
  return ended.status();
}

absl::Status PostgresServer::Restart() {
  if (absl::Status stopped = Stop(); !stopped.ok()) return stopped;
  return Launch();
}

}  // namespace opsagent::testing
