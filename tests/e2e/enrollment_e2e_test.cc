// Hosts that enroll themselves: the real opsctld with a host CA (an
// intermediate of the test CA, name-constrained to fleet.test), real
// agents given nothing but a token and the CA, real opsctl. Tokens are made
// and revoked through opsctl; agents enroll, link, renew over the link
// (certificates of 90 seconds) while calls keep going through; a revoked
// host is cut off at once; every refusal is answered with its reason and
// recorded in the team's log.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "common/tls/certificate_info.h"
#include "common/tls/certificate_request.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "opsagent/v1/controller.grpc.pb.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_controller.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::AgentProcess;
using ::opsagent::testing::BinaryPath;
using ::opsagent::testing::CertificateFiles;
using ::opsagent::testing::CertificateSpec;
using ::opsagent::testing::Eventually;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ParseJson;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::TestCertificateAuthority;
using ::opsagent::testing::TestController;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;

class EnrollmentE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    mkdir(dir_.c_str(), 0700);
    mkdir((dir_ + "/crl").c_str(), 0700);
    auto ca = TestCertificateAuthority::Create(dir_, "team");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *std::move(ca);
    CertificateSpec host_ca;
    host_ca.common_name = "fleet.test host CA";
    host_ca.organizational_units = {"host-ca"};
    host_ca.not_after_from_now = absl::Hours(24 * 20);
    host_ca.name_constraints =
        "critical,permitted;DNS:.fleet.test,excluded;IP:0.0.0.0/0.0.0.0";
    auto issued = ca_->IssueIntermediate("host-ca", host_ca);
    ASSERT_TRUE(issued.ok()) << issued.status();
    host_ca_ = *issued;
    TestController::Options options;
    options.dir = dir_;
    options.ca = ca_.get();
    options.extra_config = absl::StrCat(
        "host_ca { certificate: \"", host_ca_.certificate, "\" private_key: \"",
        host_ca_.private_key,
        "\" enrollment_listen_address: \"127.0.0.1:0\" crl_file: \"", dir_,
        "/crl/host-ca.crl\" }\n");
    auto controller = TestController::Start(options);
    ASSERT_TRUE(controller.ok()) << controller.status();
    controller_ = *std::move(controller);
    absl::StatusOr<int> port = controller_->LoggedPort("enrollment:");
    ASSERT_TRUE(port.ok()) << port.status() << controller_->Log();
    enrollment_port_ = *port;
    auto alice = ca_->Issue("alice", {"alice", {"oncall"}});
    ASSERT_TRUE(alice.ok());
    alice_ = std::make_unique<OpsctlRunner>(
        dir_, "alice", alice->certificate, alice->private_key,
        ca_->certificate_path(), "web-1.fleet.test", 1);
    alice_->AppendConfig(controller_->OpsctlConfig());
  }

  // `opsctl enroll token create ...`: the token's text.
  std::string MakeToken(const std::vector<std::string>& flags) {
    std::vector<std::string> args = {"enroll", "token", "create"};
    args.insert(args.end(), flags.begin(), flags.end());
    ProgramResult made = alice_->Run(args);
    EXPECT_EQ(made.exit_code, 0) << made.stderr_text;
    return std::string(absl::StripAsciiWhitespace(made.stdout_text));
  }

  // An agent directory for `host` holding the CA and `token`, and its
  // configuration: no key, no certificate, a link to the controller.
  std::string PrepareAgent(const std::string& host, const std::string& token,
                           bool listener = false) {
    const std::string dir = absl::StrCat(dir_, "/", host);
    mkdir(dir.c_str(), 0700);
    WriteFileOrDie(dir + "/token", token + "\n");
    chmod((dir + "/token").c_str(), 0600);
    const std::string config = absl::StrCat(
        listener ? "listen_address: \"127.0.0.1:0\"\n" : "",
        "tls { certificate: \"", dir, "/host.crt\" private_key: \"", dir,
        "/host.key\" ca_certificate: \"", ca_->certificate_path(),
        // A renewed certificate is served from the next refresh on.
        "\" refresh_interval_seconds: 1 }\nhostname: \"", host, "\"\n",
        "authorization { roles: \"oncall\" operations: \"*\" }\n",
        "journal_path: \"", dir, "/journal.jsonl\"\n",
        controller_->AgentConfig(),
        "enrollment { address: \"127.0.0.1:", enrollment_port_,
        "\" token_file: \"", dir, "/token\" }\n");
    WriteFileOrDie(dir + "/agent.textproto", config);
    return config;
  }

  // `opsagent --enroll` for `host` with `token`: what it answered.
  ProgramResult EnrollOnce(const std::string& host, const std::string& token) {
    PrepareAgent(host, token);
    absl::StatusOr<ProgramResult> ran = RunProgram(
        {BinaryPath("agent/opsagent"), "--config",
         absl::StrCat(dir_, "/", host, "/agent.textproto"), "--enroll"},
        absl::Seconds(60));
    EXPECT_TRUE(ran.ok()) << ran.status();
    return ran.ok() ? *ran : ProgramResult{-1};
  }

  std::unique_ptr<AgentProcess> StartAgent(const std::string& host,
                                           const std::string& token,
                                           bool listener = false) {
    const std::string config = PrepareAgent(host, token, listener);
    auto agent = AgentProcess::Start(absl::StrCat(dir_, "/", host), config);
    EXPECT_TRUE(agent.ok()) << agent.status();
    if (!agent.ok()) return nullptr;
    std::unique_ptr<AgentProcess> started = *std::move(agent);
    EXPECT_TRUE(Eventually([&] {
      return absl::StrContains(started->Log(), "connected to the controller");
    })) << started->Log();
    return started;
  }

  // The team's log rows of `operation`, as opsctl prints them in JSON.
  std::vector<google::protobuf::Value> AuditRows(const std::string& operation) {
    ProgramResult rows =
        alice_->Run({"audit", "--operation", operation, "--output", "json"});
    EXPECT_EQ(rows.exit_code, 0) << rows.stderr_text;
    google::protobuf::Value parsed = ParseJson(rows.stdout_text);
    return {parsed.list_value().values().begin(),
            parsed.list_value().values().end()};
  }

  // The hosts the controller lists, by name.
  std::map<std::string, google::protobuf::Value> Hosts() {
    ProgramResult hosts = alice_->Run({"hosts", "--output", "json"});
    EXPECT_EQ(hosts.exit_code, 0) << hosts.stderr_text;
    std::map<std::string, google::protobuf::Value> by_name;
    const google::protobuf::Value parsed = ParseJson(hosts.stdout_text);
    for (const auto& host : parsed.list_value().values())
      by_name[JsonField(host, "name").string_value()] = host;
    return by_name;
  }

  std::string dir_;
  std::unique_ptr<TestCertificateAuthority> ca_;
  CertificateFiles host_ca_;
  std::unique_ptr<TestController> controller_;
  int enrollment_port_ = 0;
  std::unique_ptr<OpsctlRunner> alice_;
};

TEST_F(EnrollmentE2eTest, TwoHostsEnrollRenewUnderCallsAndOneIsRevoked) {
  const std::string token = MakeToken(
      {"--roles", "web,frontend", "--environment", "staging", "--names",
       "web-*", "--uses", "2", "--ttl", "1h", "--certificate-life", "90s"});
  ASSERT_THAT(token, HasSubstr("."));
  // Made before web-2 is revoked: it must not bring web-2 back.
  const std::string early_token =
      MakeToken({"--roles", "web", "--names", "web-*", "--ttl", "1h"});
  std::unique_ptr<AgentProcess> web1 = StartAgent("web-1.fleet.test", token);
  std::unique_ptr<AgentProcess> web2 = StartAgent("web-2.fleet.test", token);
  ASSERT_NE(web1, nullptr);
  ASSERT_NE(web2, nullptr);

  // Each made its own key (owner-only) and holds a certificate for exactly
  // its name, with the token's roles, from the host CA.
  const std::string web1_dir = dir_ + "/web-1.fleet.test";
  struct stat key_stat;
  ASSERT_EQ(stat((web1_dir + "/host.key").c_str(), &key_stat), 0);
  EXPECT_EQ(key_stat.st_mode & 0777, 0600);
  absl::StatusOr<CertificateInfo> first =
      ReadCertificateFile(web1_dir + "/host.crt");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(first->dns_names, ::testing::ElementsAre("web-1.fleet.test"));
  EXPECT_THAT(first->organizational_units,
              ::testing::ElementsAre("web", "frontend"));
  EXPECT_LT(first->not_after - absl::Now(), absl::Seconds(91));

  // The controller lists them with the token's roles and environment and
  // their certificates' expiry, and the token has no use left.
  std::map<std::string, google::protobuf::Value> hosts = Hosts();
  ASSERT_EQ(hosts.count("web-2.fleet.test"), 1u);
  EXPECT_TRUE(JsonField(hosts["web-2.fleet.test"], "connected").bool_value());
  EXPECT_EQ(JsonField(hosts["web-2.fleet.test"], "environment").string_value(),
            "staging");
  EXPECT_NE(
      JsonField(hosts["web-2.fleet.test"], "certificate_not_after_unix_ms")
          .string_value(),
      "");
  ProgramResult listed = alice_->Run({"enroll", "token", "list", "--all"});
  EXPECT_THAT(listed.stdout_text, HasSubstr("used up"));
  EXPECT_THAT(listed.stdout_text, HasSubstr("2/2"));
  EXPECT_EQ(AuditRows("enroll").size(), 2u);

  // Calls go on through the controller while web-1 renews (at two thirds
  // of 90 s): none fails, and the link is never dropped.
  int calls = 0, failed = 0;
  const absl::Time until = first->not_before +
                           (first->not_after - first->not_before) * 2 / 3 +
                           absl::Seconds(15);
  while (absl::Now() < until) {
    ProgramResult info = alice_->Run({"info", "web-1.fleet.test"});
    ++calls;
    if (info.exit_code != 0) {
      ++failed;
      ADD_FAILURE() << info.stdout_text << info.stderr_text;
    }
  }
  EXPECT_GT(calls, 5);
  EXPECT_EQ(failed, 0);
  ASSERT_TRUE(Eventually(
      [&] {
        return absl::StrContains(web1->Log(),
                                 "renewed this host's certificate");
      },
      absl::Seconds(30)))
      << web1->Log();
  absl::StatusOr<CertificateInfo> renewed =
      ReadCertificateFile(web1_dir + "/host.crt");
  ASSERT_TRUE(renewed.ok());
  EXPECT_NE(renewed->serial_hex, first->serial_hex);
  EXPECT_GT(renewed->not_after, first->not_after);
  EXPECT_THAT(renewed->organizational_units,
              ::testing::ElementsAre("web", "frontend"));
  std::string log = web1->Log();
  size_t links = 0;
  for (size_t at = log.find("connected to the controller");
       at != std::string::npos;
       at = log.find("connected to the controller", at + 1))
    ++links;
  EXPECT_EQ(links, 1u) << log;
  EXPECT_GE(AuditRows("renew_certificate").size(), 1u);

  // The team's log and web-1's journal agree, the answers signed before the
  // renewal checked with the certificate it renewed from.
  ProgramResult reconciled =
      alice_->Run({"audit", "reconcile", "--host", "web-1.fleet.test"});
  EXPECT_EQ(reconciled.exit_code, 0)
      << reconciled.stdout_text << reconciled.stderr_text;
  EXPECT_THAT(reconciled.stdout_text + reconciled.stderr_text,
              HasSubstr("0 discrepancies"));
  // Past the first certificate's expiry the link stays up: the controller
  // holds it to the renewed one.
  while (absl::Now() < first->not_after + absl::Seconds(3))
    absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(alice_->Run({"info", "web-1.fleet.test"}).exit_code, 0)
      << controller_->Log();

  // Revocation ends web-2's link at once; it is refused when it comes back.
  // In another letter case it is the same name (F2 of the attack run).
  ProgramResult revoked = alice_->Run(
      {"host", "revoke", "WEB-2.fleet.test", "--reason", "retired"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.stderr_text;
  EXPECT_THAT(revoked.stdout_text, HasSubstr("its link ended"));
  hosts = Hosts();
  EXPECT_FALSE(JsonField(hosts["web-2.fleet.test"], "connected").bool_value());
  EXPECT_NE(alice_->Run({"info", "web-2.fleet.test"}).exit_code, 0);
  EXPECT_TRUE(Eventually(
      [&] { return absl::StrContains(controller_->Log(), "was revoked"); },
      absl::Seconds(15)))
      << controller_->Log();
  ASSERT_EQ(AuditRows("host_revoke").size(), 1u);
  // web-1 is untouched.
  EXPECT_EQ(alice_->Run({"info", "web-1.fleet.test"}).exit_code, 0);
  // The CRL the controller writes lists the revoked certificate; removed,
  // it is written again within a minute (every enrolled host would be
  // refused at the handshake without it).
  const std::string crl_path = dir_ + "/crl/host-ca.crl";
  EXPECT_THAT(ReadFileOrDie(crl_path), HasSubstr("BEGIN X509 CRL"));
  ASSERT_EQ(unlink(crl_path.c_str()), 0);
  const absl::Time removed = absl::Now();

  // A token made before the revocation does not bring it back; one made
  // since does.
  ProgramResult before = EnrollOnce("web-2.fleet.test", early_token);
  EXPECT_EQ(before.exit_code, 3);
  EXPECT_THAT(before.stderr_text, HasSubstr("was revoked at"));
  const std::string since = MakeToken(
      {"--roles", "web", "--names", "web-*", "--uses", "5", "--ttl", "1h"});
  ProgramResult again = EnrollOnce("web-2.fleet.test", since);
  EXPECT_EQ(again.exit_code, 0) << again.stderr_text;
  EXPECT_TRUE(Eventually([&] { return access(crl_path.c_str(), R_OK) == 0; },
                         removed + absl::Seconds(75) - absl::Now()))
      << controller_->Log();
  EXPECT_THAT(controller_->Log(), HasSubstr("writing it again"));
}

TEST_F(EnrollmentE2eTest, EveryRefusalIsExplainedAndRecorded) {
  const std::string token = MakeToken(
      {"--roles", "db", "--names", "db-*", "--uses", "1", "--ttl", "1h"});

  // A name outside the token's patterns.
  ProgramResult outside = EnrollOnce("web-9.fleet.test", token);
  EXPECT_EQ(outside.exit_code, 3);
  EXPECT_THAT(outside.stderr_text, HasSubstr("is not among the names token"));
  // A name outside the host CA's domain.
  const std::string any =
      MakeToken({"--roles", "db", "--names", "*", "--ttl", "1h"});
  ProgramResult foreign = EnrollOnce("db-1.other.test", any);
  EXPECT_EQ(foreign.exit_code, 3);
  EXPECT_THAT(foreign.stderr_text, HasSubstr("fleet.test"));
  // A wrong secret: refused, and written nowhere but a counter.
  ProgramResult forged =
      EnrollOnce("db-1.fleet.test",
                 absl::StrCat(token.substr(0, token.find('.')),
                              ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  EXPECT_EQ(forged.exit_code, 3);
  EXPECT_THAT(forged.stderr_text, HasSubstr("not one this controller gave"));
  // The good one, once; then it is used up.
  ProgramResult good = EnrollOnce("db-1.fleet.test", token);
  ASSERT_EQ(good.exit_code, 0) << good.stderr_text;
  ProgramResult used_up = EnrollOnce("db-2.fleet.test", token);
  EXPECT_EQ(used_up.exit_code, 3);
  EXPECT_THAT(used_up.stderr_text, HasSubstr("is used up"));
  // A name held by a connected host.
  std::unique_ptr<AgentProcess> db3 = StartAgent("db-3.fleet.test", any);
  ASSERT_NE(db3, nullptr);
  const std::string second =
      MakeToken({"--roles", "db", "--names", "db-*", "--ttl", "1h"});
  ProgramResult held = EnrollOnce("db-3.fleet.test", second);
  EXPECT_EQ(held.exit_code, 3);
  EXPECT_THAT(held.stderr_text, HasSubstr("is connected now"));
  // The same name in another letter case is no other name (F1 of the
  // attack run: it took over db-3's link).
  ProgramResult shouted = EnrollOnce("DB-3.fleet.test", second);
  EXPECT_EQ(shouted.exit_code, 3);
  EXPECT_THAT(shouted.stderr_text, HasSubstr("lower case"));
  // A revoked token.
  const std::string id = second.substr(0, second.find('.'));
  ASSERT_EQ(alice_->Run({"enroll", "token", "revoke", id}).exit_code, 0);
  ProgramResult revoked = EnrollOnce("db-4.fleet.test", second);
  EXPECT_EQ(revoked.exit_code, 3);
  EXPECT_THAT(revoked.stderr_text, HasSubstr("was revoked by alice"));

  // Each refusal by a holder of a real token is a row of the team's log
  // with its reason; the forged one is not.
  std::vector<google::protobuf::Value> rows = AuditRows("enroll");
  int ok = 0, refused = 0;
  for (const google::protobuf::Value& row : rows) {
    (JsonField(row, "outcome").string_value() == "ok" ? ok : refused)++;
  }
  EXPECT_EQ(ok, 2);       // db-1, db-3
  EXPECT_EQ(refused, 6);  // outside, foreign, used up, held, case, revoked
  EXPECT_EQ(AuditRows("enroll_token_create").size(), 3u);
  EXPECT_EQ(AuditRows("enroll_token_revoke").size(), 1u);
  // No host may carry the controller's role (F3 of the attack run).
  ProgramResult controller_role =
      alice_->Run({"enroll", "token", "create", "--roles", "web,Controller",
                   "--names", "web-*", "--ttl", "1h"});
  EXPECT_EQ(controller_role.exit_code, 2);
  EXPECT_THAT(controller_role.stderr_text, HasSubstr("controller's own"));
  // Bad input changes nothing: no token is made without names.
  ProgramResult nameless = alice_->Run(
      {"enroll", "token", "create", "--roles", "db", "--ttl", "1h"});
  EXPECT_NE(nameless.exit_code, 0);
  EXPECT_THAT(nameless.stderr_text, HasSubstr("--names"));
  EXPECT_EQ(AuditRows("enroll_token_create").size(), 3u);
}

TEST_F(EnrollmentE2eTest, ALeakedTokenCannotFillTheTeamLog) {
  // F4 of the attack run: refusals of a real token's holder are written,
  // ten a minute at most; past that they are refused unwritten.
  const std::string token =
      MakeToken({"--roles", "db", "--names", "db-*", "--ttl", "1h"});
  for (int i = 0; i < 13; ++i) {
    ProgramResult refused =
        EnrollOnce(absl::StrCat("web-", i, ".fleet.test"), token);
    EXPECT_EQ(refused.exit_code, 3);
    EXPECT_THAT(refused.stderr_text,
                HasSubstr(i < 10 ? "is not among the names"
                                 : "refused 10 times in the last minute"));
  }
  EXPECT_EQ(AuditRows("enroll").size(), 10u);
}

// A host that asks for renewals again and again over its link (a
// compromised one) gets no certificate before half of its own's life and
// writes nothing into the team's log: the first request is refused as too
// early, those within the minute after it as too many.
TEST_F(EnrollmentE2eTest, RenewalsAskedTooOftenWriteNothing) {
  const std::string token =
      MakeToken({"--roles", "web", "--names", "web-*", "--ttl", "1h"});
  ProgramResult enrolled = EnrollOnce("web-7.fleet.test", token);
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.stderr_text;
  const std::string host_dir = dir_ + "/web-7.fleet.test";
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadFileOrDie(ca_->certificate_path());
  tls.pem_cert_chain = ReadFileOrDie(host_dir + "/host.crt");
  tls.pem_private_key = ReadFileOrDie(host_dir + "/host.key");
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("opsctld.test");
  auto stub = v1::AgentLink::NewStub(
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", controller_->port()),
                                grpc::SslCredentials(tls), args));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  auto stream = stub->Connect(&context);
  v1::AgentMessage hello;
  hello.mutable_hello()->set_hostname("web-7.fleet.test");
  ASSERT_TRUE(stream->Write(hello));
  v1::ControllerMessage in;
  ASSERT_TRUE(stream->Read(&in));
  ASSERT_TRUE(in.has_accepted());
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<KeyAndRequest> made =
        MakeHostKeyAndRequest("web-7.fleet.test");
    ASSERT_TRUE(made.ok());
    v1::AgentMessage renew;
    renew.mutable_renew()->set_csr_pem(made->request_pem);
    ASSERT_TRUE(stream->Write(renew));
  }
  std::vector<v1::CertificateRenewed> answers;
  while (answers.size() < 3 && stream->Read(&in)) {
    if (in.has_renewed()) answers.push_back(in.renewed());
  }
  ASSERT_EQ(answers.size(), 3u);
  int too_early = 0, too_many = 0;
  for (const v1::CertificateRenewed& answer : answers) {
    EXPECT_TRUE(answer.certificate_pem().empty());
    too_early += absl::StrContains(answer.status().message(), "too early");
    too_many += answer.status().code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
  }
  EXPECT_EQ(too_early, 1);
  EXPECT_EQ(too_many, 2);
  context.TryCancel();
  EXPECT_TRUE(AuditRows("renew_certificate").empty());
}

TEST_F(EnrollmentE2eTest, TheHostCaCannotMakeAnOperator) {
  // mallory's certificate is signed with the host CA's key (what a thief of
  // the controller's disk could make): clientAuth only, role oncall.
  const std::string mallory = dir_ + "/mallory";
  const std::string ext = dir_ + "/mallory.ext";
  WriteFileOrDie(ext,
                 "basicConstraints=CA:FALSE\nkeyUsage=critical,"
                 "digitalSignature\nextendedKeyUsage=clientAuth\n");
  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{
           {"/usr/bin/openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-out", mallory + ".key"},
           {"/usr/bin/openssl", "req", "-new", "-key", mallory + ".key",
            "-subj", "/O=opsagent/OU=oncall/CN=mallory", "-out",
            mallory + ".csr"},
           {"/usr/bin/openssl", "x509", "-req", "-in", mallory + ".csr", "-CA",
            host_ca_.certificate, "-CAkey", host_ca_.private_key,
            "-CAcreateserial", "-days", "1", "-extfile", ext, "-out",
            mallory + ".leaf"}}) {
    absl::StatusOr<ProgramResult> ran = RunProgram(argv, absl::Seconds(30));
    ASSERT_TRUE(ran.ok() && ran->exit_code == 0)
        << argv[1] << ": " << (ran.ok() ? ran->stderr_text : "");
  }
  chmod((mallory + ".key").c_str(), 0600);
  WriteFileOrDie(mallory + ".crt", ReadFileOrDie(mallory + ".leaf") +
                                       ReadFileOrDie(host_ca_.certificate));
  const std::string token =
      MakeToken({"--roles", "web", "--names", "web-*", "--ttl", "1h"});
  std::unique_ptr<AgentProcess> web =
      StartAgent("web-5.fleet.test", token, /*listener=*/true);
  ASSERT_NE(web, nullptr);
  OpsctlRunner as_mallory(dir_, "mallory", mallory + ".crt", mallory + ".key",
                          ca_->certificate_path(), "web-5.fleet.test",
                          web->port());
  // Directly to the agent: refused at its handshake.
  ProgramResult direct =
      as_mallory.Run({"--direct", "info", "web-5.fleet.test"});
  EXPECT_NE(direct.exit_code, 0) << direct.stdout_text;
  EXPECT_THAT(web->Log(), HasSubstr("cannot issue operator certificates"));
  // Through the controller: refused too.
  as_mallory.AppendConfig(controller_->OpsctlConfig());
  ProgramResult relayed = as_mallory.Run({"info", "web-5.fleet.test"});
  EXPECT_NE(relayed.exit_code, 0) << relayed.stdout_text;
  // An operator from the team CA reaches the enrolled agent both ways: its
  // certificate chains through the host CA.
  OpsctlRunner direct_alice(dir_, "alice-direct", dir_ + "/alice.crt",
                            dir_ + "/alice.key", ca_->certificate_path(),
                            "web-5.fleet.test", web->port());
  ProgramResult allowed =
      direct_alice.Run({"--direct", "info", "web-5.fleet.test"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.stderr_text;
  EXPECT_EQ(alice_->Run({"info", "web-5.fleet.test"}).exit_code, 0);
}

TEST_F(EnrollmentE2eTest, AHostCaSectionThatCannotWorkIsRefusedAtTheCheck) {
  const std::string base = ReadFileOrDie(dir_ + "/opsctld.textproto");
  const std::string section_start = base.substr(0, base.find("host_ca {"));
  const std::string crl = dir_ + "/crl/host-ca.crl";
  for (const auto& [host_ca, expected] :
       std::vector<std::pair<std::string, std::string>>{
           // The team CA itself: no name constraints, so it could mint
           // operators.
           {absl::StrCat("host_ca { certificate: \"", ca_->certificate_path(),
                         "\" private_key: \"", host_ca_.private_key,
                         "\" enrollment_listen_address: \"127.0.0.1:0\" "
                         "crl_file: \"",
                         crl, "\" }"),
            "host_ca"},
           {absl::StrCat("host_ca { certificate: \"", host_ca_.certificate,
                         "\" private_key: \"", host_ca_.private_key,
                         "\" crl_file: \"", crl, "\" }"),
            "host_ca.enrollment_listen_address"},
           {absl::StrCat("host_ca { certificate: \"", host_ca_.certificate,
                         "\" private_key: \"", host_ca_.private_key,
                         "\" enrollment_listen_address: \"127.0.0.1:0\" "
                         "crl_file: \"host-ca.crl\" }"),
            "host_ca.crl_file"},
           {absl::StrCat("host_ca { certificate: \"", host_ca_.certificate,
                         "\" private_key: \"", host_ca_.private_key,
                         "\" enrollment_listen_address: \"127.0.0.1:0\" "
                         "crl_file: \"",
                         crl, "\" certificate_hours: 9000 }"),
            "host_ca.certificate_hours"},
       }) {
    const std::string config = dir_ + "/bad-opsctld.textproto";
    WriteFileOrDie(config, section_start + host_ca + "\n");
    chmod(config.c_str(), 0600);
    absl::StatusOr<ProgramResult> checked =
        RunProgram({BinaryPath("controller/opsctld/opsctld"), "--config",
                    config, "--check_config"},
                   absl::Seconds(30));
    ASSERT_TRUE(checked.ok());
    EXPECT_EQ(checked->exit_code, 2) << host_ca;
    EXPECT_THAT(checked->stderr_text, HasSubstr(expected)) << host_ca;
  }
}

}  // namespace
}  // namespace opsagent
