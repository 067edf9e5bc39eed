// The two witnesses compared (controller/audit/reconcile.h) on hand-made
// journals and rows, and the agents' result signatures it rests on, with
// keys and certificates minted by a test CA.

#include "controller/audit/reconcile.h"

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/operation_catalog.h"
#include "common/signing/result_signature.h"
#include "common/tls/chain_verifier.h"
#include "controller/audit/journal_check.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opsagent/v1/agent.pb.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kSince = 1'800'000'000'000;

std::string At(int64_t ms) {
  return absl::FormatTime(absl::RFC3339_full, absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

v1::JournalRecord Record(v1::JournalRecord::Event event, const std::string& id,
                         const std::string& operation, int64_t at_ms,
                         const std::string& via = "controller opsctld",
                         int code = 0) {
  v1::JournalRecord record;
  record.set_event(event);
  record.set_request_id(id);
  record.set_operation(operation);
  record.set_time(At(at_ms));
  record.set_caller("alice (oncall)");
  record.set_via(via);
  record.set_status_code(code);
  return record;
}

v1::AuditEntry Row(const std::string& id, const std::string& operation,
                   v1::Outcome outcome, int64_t at_ms) {
  v1::AuditEntry row;
  row.mutable_intent()->set_request_id(id);
  row.mutable_intent()->set_operation(operation);
  row.mutable_intent()->set_host("web-1");
  row.mutable_intent()->set_cert_identity("alice");
  row.mutable_intent()->set_started_at_ms(at_ms);
  row.set_outcome(outcome);
  if (outcome != v1::OUTCOME_PENDING)
    row.mutable_result()->set_outcome(outcome);
  row.mutable_result()->set_finished_at_ms(at_ms + 10);
  return row;
}

TEST(ReconcileTest, CallsBothWitnessesAgreeOnAreMatched) {
  std::vector<v1::JournalRecord> journal = {
      Record(v1::JournalRecord::STARTED, "a", "memory", kSince + 1000),
      Record(v1::JournalRecord::FINISHED, "a", "memory", kSince + 1010),
      Record(v1::JournalRecord::STARTED, "b", "truncate_log", kSince + 2000),
      Record(v1::JournalRecord::FINISHED, "b", "truncate_log", kSince + 2010,
             "controller opsctld", 9),
  };
  HostReconciliation out =
      Reconcile("web-1", kSince,
                {Row("a", "memory", v1::OUTCOME_OK, kSince + 990),
                 Row("b", "truncate_log", v1::OUTCOME_ERROR, kSince + 1990)},
                journal, {}, "");
  EXPECT_THAT(out.findings, IsEmpty());
  EXPECT_EQ(out.matched, 2);
}

TEST(ReconcileTest, RefusalsAndReadsTheLogLacksAreNamedForWhatTheyAre) {
  std::vector<v1::JournalRecord> journal = {
      // A relayed call refused (a replay) that the team log never saw.
      Record(v1::JournalRecord::REFUSED, "forged", "truncate_log",
             kSince + 1000, "controller opsctld", 16),
      // A break-glass read.
      Record(v1::JournalRecord::STARTED, "look", "memory", kSince + 2000,
             "direct"),
      Record(v1::JournalRecord::FINISHED, "look", "memory", kSince + 2010,
             "direct"),
      // Before the window: not reported.
      Record(v1::JournalRecord::STARTED, "old", "truncate_log", kSince - 5000,
             "direct"),
  };
  HostReconciliation out = Reconcile("web-1", kSince, {}, journal, {}, "");
  ASSERT_EQ(out.findings.size(), 2u);
  EXPECT_EQ(out.findings[0].kind, FindingKind::kUnloggedRefusal);
  EXPECT_EQ(out.findings[0].request_id, "forged");
  EXPECT_EQ(out.findings[1].kind, FindingKind::kUnloggedRead);
  EXPECT_THAT(out.findings[1].detail, HasSubstr("a break-glass call"));
}

TEST(ReconcileTest, AnUnknownOutcomeTheAgentKnowsIsReported) {
  std::vector<v1::JournalRecord> journal = {
      Record(v1::JournalRecord::STARTED, "r", "restart_service", kSince + 100),
      Record(v1::JournalRecord::FINISHED, "r", "restart_service",
             kSince + 9000),
  };
  HostReconciliation out =
      Reconcile("web-1", kSince,
                {Row("r", "restart_service", v1::OUTCOME_UNKNOWN, kSince + 50),
                 // Cut off before it reached the agent: no record expected.
                 Row("u", "memory", v1::OUTCOME_UNREACHABLE, kSince + 60)},
                journal, {}, "");
  ASSERT_EQ(out.findings.size(), 1u);
  EXPECT_EQ(out.findings[0].kind, FindingKind::kOutcomeDiffers);
  EXPECT_THAT(out.findings[0].detail,
              HasSubstr("the team log says unknown; web-1 finished it ok"));
}

TEST(ReconcileTest, WhoWhyAndWhatAreComparedWithWhatTheAgentReceived) {
  v1::JournalRecord started =
      Record(v1::JournalRecord::STARTED, "t", "truncate_log", kSince + 100);
  started.set_caller("oncall (oncall)");
  started.set_reason("disk full");
  started.set_incident("INC-9");
  v1::TruncateLogRequest request;
  request.set_path("/var/log/app.log");
  started.mutable_request()->PackFrom(request);
  std::vector<v1::JournalRecord> journal = {
      started,
      Record(v1::JournalRecord::FINISHED, "t", "truncate_log", kSince + 200)};
  v1::AuditEntry row = Row("t", "truncate_log", v1::OUTCOME_OK, kSince + 90);
  row.mutable_intent()->set_cert_identity("oncall");
  row.mutable_intent()->set_reason("disk full");
  row.mutable_intent()->set_incident("INC-9");
  row.mutable_intent()->set_parameters_json(ParametersJson(request));
  EXPECT_THAT(Reconcile("web-1", kSince, {row}, journal, {}, "").findings,
              IsEmpty());
  // Another operator framed, another reason, other parameters: each named.
  for (auto [edit, said] : std::vector<
           std::pair<std::function<void(v1::AuditIntent&)>, std::string>>{
           {[](v1::AuditIntent& i) { i.set_cert_identity("alice"); },
            "operator: the team log says \"alice\""},
           {[](v1::AuditIntent& i) { i.set_reason("routine cleanup"); },
            "reason: the team log says \"routine cleanup\""},
           {[](v1::AuditIntent& i) { i.set_incident("INC-1"); }, "incident"},
           {[](v1::AuditIntent& i) {
              i.set_parameters_json("{\"path\":\"/var/log/other.log\"}");
            },
            "parameters"}}) {
    v1::AuditEntry edited = row;
    edit(*edited.mutable_intent());
    HostReconciliation out =
        Reconcile("web-1", kSince, {edited}, journal, {}, "");
    ASSERT_EQ(out.findings.size(), 1u) << said;
    EXPECT_EQ(out.findings[0].kind, FindingKind::kRequestDiffers);
    EXPECT_THAT(out.findings[0].detail, HasSubstr(said));
  }
}

// Issue 21: an `exec` with two parameters printed its map in either order,
// and half of the clean calls were reported as request_differs.
TEST(ReconcileTest, ParametersAreComparedWhateverTheOrderOfTheirKeys) {
  v1::RunCommandRequest request;
  request.set_name("salt-state");
  (*request.mutable_params())["target"] = "reddit-production*";
  (*request.mutable_params())["states"] = "reddit.config";
  v1::JournalRecord started =
      Record(v1::JournalRecord::STARTED, "x", "run_command", kSince + 100);
  started.set_caller("oncall (oncall)");
  started.mutable_request()->PackFrom(request);
  std::vector<v1::JournalRecord> journal = {
      started,
      Record(v1::JournalRecord::FINISHED, "x", "run_command", kSince + 200)};
  v1::AuditEntry row = Row("x", "run_command", v1::OUTCOME_OK, kSince + 90);
  row.mutable_intent()->set_cert_identity("oncall");
  for (const char* logged :
       {R"({"name":"salt-state","params":{"target":"reddit-production*",)"
        R"("states":"reddit.config"}})",
        R"({"name":"salt-state","params":{"states":"reddit.config",)"
        R"("target":"reddit-production*"}})"}) {
    row.mutable_intent()->set_parameters_json(logged);
    HostReconciliation out = Reconcile("web-1", kSince, {row}, journal, {}, "");
    EXPECT_THAT(out.findings, IsEmpty()) << logged;
    EXPECT_EQ(out.matched, 1);
  }
  // A value that is not the one the agent received still is named.
  row.mutable_intent()->set_parameters_json(
      R"({"name":"salt-state","params":{"states":"reddit.config",)"
      R"("target":"*"}})");
  HostReconciliation out = Reconcile("web-1", kSince, {row}, journal, {}, "");
  ASSERT_EQ(out.findings.size(), 1u);
  EXPECT_EQ(out.findings[0].kind, FindingKind::kRequestDiffers);
  EXPECT_THAT(out.findings[0].detail, HasSubstr("parameters"));
}

TEST(ReconcileTest, RowsOlderThanTheJournalReadAreNotCalledMissing) {
  // The journal read was cut to its newest records: it starts later.
  std::vector<v1::JournalRecord> journal = {
      Record(v1::JournalRecord::STARTED, "new", "memory", kSince + 50000),
      Record(v1::JournalRecord::FINISHED, "new", "memory", kSince + 50010),
  };
  HostReconciliation out =
      Reconcile("web-1", kSince,
                {Row("early", "memory", v1::OUTCOME_OK, kSince + 10),
                 Row("new", "memory", v1::OUTCOME_OK, kSince + 49990)},
                journal, {}, "");
  EXPECT_THAT(out.findings, IsEmpty());
  EXPECT_EQ(out.matched, 1);
}

class ResultSignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = testing::TestCertificateAuthority::Create(
        std::getenv("TEST_TMPDIR"), "results");
    ASSERT_TRUE(ca.ok());
    ca_ = *std::move(ca);
    auto web1 = ca_->Issue("web-1", {"web-1", {}, {"web-1"}});
    auto web2 = ca_->Issue("web-2", {"web-2", {}, {"web-2"}});
    ASSERT_TRUE(web1.ok() && web2.ok());
    web1_ = *web1;
    web2_ = *web2;
  }

  std::unique_ptr<testing::TestCertificateAuthority> ca_;
  testing::CertificateFiles web1_, web2_;
};

TEST_F(ResultSignatureTest, OnlyTheHostsKeyOverTheSameAnswerVerifies) {
  const std::string digest = ResultSha256("web-1", "r1", 0, "reply bytes");
  ResultSigner web1_signer(web1_.private_key);
  auto signature = web1_signer.Sign(digest);
  ASSERT_TRUE(signature.ok()) << signature.status();
  const std::string cert = testing::ReadFileOrDie(web1_.certificate);
  EXPECT_TRUE(VerifyResult(cert, digest, *signature).ok());
  // Another answer, status, request, or host: another digest.
  for (const std::string& other :
       {ResultSha256("web-1", "r1", 0, "reply byteS"),
        ResultSha256("web-1", "r1", 13, "reply bytes"),
        ResultSha256("web-1", "r2", 0, "reply bytes"),
        ResultSha256("web-2", "r1", 0, "reply bytes")}) {
    EXPECT_NE(other, digest);
    EXPECT_FALSE(VerifyResult(cert, other, *signature).ok());
  }
  // Another host's key, or no signature at all.
  ResultSigner web2_signer(web2_.private_key);
  auto theirs = web2_signer.Sign(digest);
  ASSERT_TRUE(theirs.ok());
  EXPECT_FALSE(VerifyResult(cert, digest, *theirs).ok());
  EXPECT_FALSE(VerifyResult(cert, digest, "").ok());
  EXPECT_FALSE(VerifyResult("not a certificate", digest, *signature).ok());
}

// A journal relayed by the controller, which could forge it, alter it or
// pass another host's off as this one's: only the host's own, as it signed
// it, is accepted; anything else is refused saying why (reconcile reports
// the host as unread, never as agreeing).
class JournalCheckTest : public ResultSignatureTest {
 protected:
  void SetUp() override {
    ResultSignatureTest::SetUp();
    // Agents' certificates (serverAuth), as a host's journal must carry.
    for (auto [name, files] : {std::pair{"web-1", &web1_}, {"web-2", &web2_}}) {
      testing::CertificateSpec spec{name, {}, {name}};
      spec.server = true;
      auto issued = ca_->Issue(absl::StrCat("agent-", name), spec);
      ASSERT_TRUE(issued.ok()) << issued.status();
      *files = *issued;
    }
    std::vector<std::string> problems;
    auto verifier = ChainVerifier::Build(
        testing::ReadFileOrDie(ca_->certificate_path()), {}, false, &problems);
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    verifier_ = *std::move(verifier);
  }

  // A journal reply with one record, as `host` (certificate `files`) sends
  // it, serialized.
  static std::string Reply(const testing::CertificateFiles& files,
                           const std::string& host) {
    v1::JournalReply reply;
    reply.set_hostname(host);
    reply.set_agent_certificate_pem(testing::ReadFileOrDie(files.certificate));
    *reply.add_records() = Record(v1::JournalRecord::FINISHED, "r-7",
                                  "truncate_log", kSince + 1000);
    return reply.SerializeAsString();
  }

  // `bytes` signed with `key_file` as the agent of `host` signs the answer
  // to request "read-1": the digest and the signature.
  static std::pair<std::string, std::string> Signed(const std::string& key_file,
                                                    const std::string& host,
                                                    const std::string& bytes) {
    const std::string digest = ResultSha256(host, "read-1", 0, bytes);
    auto signature = ResultSigner(key_file).Sign(digest);
    EXPECT_TRUE(signature.ok()) << signature.status();
    return {digest, signature.value_or("")};
  }

  absl::StatusOr<v1::JournalReply> Check(
      const std::string& host, const std::string& bytes,
      const std::pair<std::string, std::string>& signed_as) {
    return CheckHostJournal(host, "read-1", bytes, signed_as.first,
                            signed_as.second, *verifier_);
  }

  std::unique_ptr<ChainVerifier> verifier_;
};

TEST_F(JournalCheckTest, TheHostsOwnJournalAsItSignedItIsAccepted) {
  const std::string bytes = Reply(web1_, "web-1");
  absl::StatusOr<v1::JournalReply> journal =
      Check("web-1", bytes, Signed(web1_.private_key, "web-1", bytes));
  ASSERT_TRUE(journal.ok()) << journal.status();
  ASSERT_EQ(journal->records_size(), 1);
  EXPECT_EQ(journal->records(0).request_id(), "r-7");
}

TEST_F(JournalCheckTest, AnotherHostsJournalIsRefused) {
  // web-2's genuine journal, signed by web-2, passed off as web-1's.
  const std::string theirs = Reply(web2_, "web-2");
  absl::StatusOr<v1::JournalReply> journal =
      Check("web-1", theirs, Signed(web2_.private_key, "web-1", theirs));
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(journal.status().message(), HasSubstr("web-1"));
  // web-1's certificate with a journal signed by web-2's key.
  const std::string ours = Reply(web1_, "web-1");
  journal = Check("web-1", ours, Signed(web2_.private_key, "web-1", ours));
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(journal.status().message(), HasSubstr("its journal: "));
}

TEST_F(JournalCheckTest, AnAlteredOrForgedJournalIsRefused) {
  const std::string bytes = Reply(web1_, "web-1");
  const auto signed_as = Signed(web1_.private_key, "web-1", bytes);
  // A record dropped on the way, the digest left as the agent signed it.
  v1::JournalReply altered;
  ASSERT_TRUE(altered.ParseFromString(bytes));
  altered.clear_records();
  absl::StatusOr<v1::JournalReply> journal =
      Check("web-1", altered.SerializeAsString(), signed_as);
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(journal.status().message(), HasSubstr("changed on the way"));
  // The same, with the digest recomputed to match: the signature is not.
  journal =
      Check("web-1", altered.SerializeAsString(),
            {ResultSha256("web-1", "read-1", 0, altered.SerializeAsString()),
             signed_as.second});
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(journal.status().message(), HasSubstr("its journal: "));
  // No signature at all.
  journal = Check("web-1", bytes, {signed_as.first, ""});
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
  // A certificate for web-1 from a CA the operators do not trust, its key
  // signing the forged journal.
  auto other_ca = testing::TestCertificateAuthority::Create(
      std::getenv("TEST_TMPDIR"), "forger");
  ASSERT_TRUE(other_ca.ok());
  testing::CertificateSpec forged_spec{"web-1", {}, {"web-1"}};
  forged_spec.server = true;
  auto forged_host = (*other_ca)->Issue("forged-web-1", forged_spec);
  ASSERT_TRUE(forged_host.ok());
  const std::string forged = Reply(*forged_host, "web-1");
  journal =
      Check("web-1", forged, Signed(forged_host->private_key, "web-1", forged));
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(journal.status().message(), HasSubstr("not one our CA issued"));
  // Bytes that are no journal.
  journal = Check("web-1", "\xff\xff\xff",
                  Signed(web1_.private_key, "web-1", "\xff\xff\xff"));
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace opsagent
