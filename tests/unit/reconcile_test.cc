// The two witnesses compared (controller/audit/reconcile.h) on hand-made
// journals and rows, and the agents' result signatures it rests on, with
// keys and certificates minted by a test CA.

#include "controller/audit/reconcile.h"

#include <cstdlib>
#include <functional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/operation_catalog.h"
#include "common/signing/result_signature.h"
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

AuditRecord Row(const std::string& id, const std::string& operation,
                AuditOutcome outcome, int64_t at_ms) {
  AuditRecord row;
  row.intent.request_id = id;
  row.intent.operation = operation;
  row.intent.host = "web-1";
  row.intent.cert_identity = "alice";
  row.intent.started_at_ms = at_ms;
  row.outcome = outcome;
  if (outcome != AuditOutcome::kPending)
    row.result = AuditResult{outcome, at_ms + 10};
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
                {Row("a", "memory", AuditOutcome::kOk, kSince + 990),
                 Row("b", "truncate_log", AuditOutcome::kError, kSince + 1990)},
                journal, "", "");
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
  HostReconciliation out = Reconcile("web-1", kSince, {}, journal, "", "");
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
  HostReconciliation out = Reconcile(
      "web-1", kSince,
      {Row("r", "restart_service", AuditOutcome::kUnknown, kSince + 50),
       // Cut off before it reached the agent: no record expected.
       Row("u", "memory", AuditOutcome::kUnreachable, kSince + 60)},
      journal, "", "");
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
  AuditRecord row = Row("t", "truncate_log", AuditOutcome::kOk, kSince + 90);
  row.intent.cert_identity = "oncall";
  row.intent.reason = "disk full";
  row.intent.incident = "INC-9";
  row.intent.parameters_json = ParametersJson(request);
  EXPECT_THAT(Reconcile("web-1", kSince, {row}, journal, "", "").findings,
              IsEmpty());
  // Another operator framed, another reason, other parameters: each named.
  for (auto [edit, said] :
       std::vector<std::pair<std::function<void(AuditIntent&)>, std::string>>{
           {[](AuditIntent& i) { i.cert_identity = "alice"; },
            "operator: the team log says \"alice\""},
           {[](AuditIntent& i) { i.reason = "routine cleanup"; },
            "reason: the team log says \"routine cleanup\""},
           {[](AuditIntent& i) { i.incident = "INC-1"; }, "incident"},
           {[](AuditIntent& i) {
              i.parameters_json = "{\"path\":\"/var/log/other.log\"}";
            },
            "parameters"}}) {
    AuditRecord edited = row;
    edit(edited.intent);
    HostReconciliation out =
        Reconcile("web-1", kSince, {edited}, journal, "", "");
    ASSERT_EQ(out.findings.size(), 1u) << said;
    EXPECT_EQ(out.findings[0].kind, FindingKind::kRequestDiffers);
    EXPECT_THAT(out.findings[0].detail, HasSubstr(said));
  }
}

TEST(ReconcileTest, RowsOlderThanTheJournalReadAreNotCalledMissing) {
  // The journal read was cut to its newest records: it starts later.
  std::vector<v1::JournalRecord> journal = {
      Record(v1::JournalRecord::STARTED, "new", "memory", kSince + 50000),
      Record(v1::JournalRecord::FINISHED, "new", "memory", kSince + 50010),
  };
  HostReconciliation out =
      Reconcile("web-1", kSince,
                {Row("early", "memory", AuditOutcome::kOk, kSince + 10),
                 Row("new", "memory", AuditOutcome::kOk, kSince + 49990)},
                journal, "", "");
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

}  // namespace
}  // namespace opsagent
