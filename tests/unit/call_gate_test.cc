// The call gate on its own, without gRPC: what it lets through to an
// operation's handler and what it records. The handlers here stand in for
// real operations (this test does not link agent/ops): they count their
// calls and record what the journal held when they ran, so the gate's order
// of checks is what is asserted. The journal is a real file.

#include "agent/server/call_gate.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::atomic<int> info_calls{0};
std::atomic<int> truncate_calls{0};
std::atomic<int> scan_calls{0};
std::string* journal_path = new std::string;
std::string* journal_when_truncating = new std::string;
absl::Notification* scan_started = nullptr;
absl::Notification* scan_may_finish = nullptr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

absl::Status FakeInfo(const OperationContext& context,
                      const v1::InfoRequest& /*request*/,
                      v1::InfoReply* reply) {
  ++info_calls;
  reply->set_caller_identity(context.caller.name);
  // Host text an operation forgot to escape.
  reply->set_hostname("evil\x1b]0;owned\x07");
  return absl::OkStatus();
}

absl::Status FakeTruncate(const OperationContext& /*context*/,
                          const v1::TruncateLogRequest& request,
                          v1::TruncateLogReply* reply) {
  ++truncate_calls;
  *journal_when_truncating = ReadFile(*journal_path);
  reply->set_path(request.path());
  reply->set_size_before_bytes(100 + truncate_calls);
  if (request.path() == "/fails") {
    reply->set_summary("found it held by pid 7");
    return absl::FailedPreconditionError("it failed");
  }
  return absl::OkStatus();
}

absl::Status FakeScan(
    const OperationContext& /*context*/, const v1::DiskUsageRequest& request,
    const std::function<bool(const v1::DiskUsageEvent&)>& emit) {
  ++scan_calls;
  // As the real scan does, a refusal quotes the path.
  if (absl::StartsWith(request.path(), "/refused")) {
    return absl::PermissionDeniedError(absl::StrCat(
        request.path(), " is not under an allowed inspection root"));
  }
  if (scan_started != nullptr) scan_started->Notify();
  if (scan_may_finish != nullptr) scan_may_finish->WaitForNotification();
  v1::DiskUsageEvent done;
  done.mutable_result();
  emit(done);
  return absl::OkStatus();
}

OPSAGENT_OPERATION(GetInfo, FakeInfo);
OPSAGENT_OPERATION(TruncateLog, FakeTruncate);
OPSAGENT_OPERATION(ScanDiskUsage, FakeScan);

class CallGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    info_calls = truncate_calls = scan_calls = 0;
    *journal_path =
        std::string(std::getenv("TEST_TMPDIR")) + "/" +
        ::testing::UnitTest::GetInstance()->current_test_info()->name() +
        ".jsonl";
    agent_.config.mutable_limits()->set_max_concurrent_scans(1);
    v1::AuthorizationRule* oncall = agent_.config.add_authorization();
    oncall->add_roles("oncall");
    oncall->add_operations("*");
    v1::AuthorizationRule* viewer = agent_.config.add_authorization();
    viewer->add_roles("viewer");
    viewer->add_operations("info");
    gate_ = NewGate();
  }

  std::unique_ptr<CallGate> NewGate() {
    absl::StatusOr<std::unique_ptr<ActionJournal>> journal =
        ActionJournal::Open(*journal_path, 64 << 10);
    EXPECT_TRUE(journal.ok()) << journal.status();
    return std::make_unique<CallGate>(agent_, *std::move(journal));
  }

  static Call MakeCall(const std::string& operation,
                       const google::protobuf::Message& request,
                       PeerIdentity caller = {"alice", {"oncall"}}) {
    Call call;
    call.operation = FindOperation(operation);
    call.caller = std::move(caller);
    call.peer = "ipv4:127.0.0.1:5000";
    call.request = request.SerializeAsString();
    return call;
  }

  static v1::TruncateLogRequest Truncate(const std::string& id,
                                         const std::string& path) {
    v1::TruncateLogRequest request;
    request.mutable_meta()->set_request_id(id);
    request.set_path(path);
    return request;
  }

  CallResult Run(const Call& call) {
    return gate_->Run(call, [this](const google::protobuf::Message& m) {
      emitted_.push_back(m.SerializeAsString());
      return true;
    });
  }

  AgentEnvironment agent_;
  std::unique_ptr<CallGate> gate_;
  std::vector<std::string> emitted_;
};

TEST_F(CallGateTest, DeniesByDefaultBeforeTheOperationRuns) {
  CallResult denied = Run(MakeCall("info", v1::InfoRequest(), {"mallory", {}}));
  EXPECT_EQ(denied.status.code(), absl::StatusCode::kPermissionDenied);
  CallResult viewer = Run(
      MakeCall("truncate_log", Truncate("r1", "/x"), {"victor", {"viewer"}}));
  EXPECT_EQ(viewer.status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(info_calls, 0);
  EXPECT_EQ(truncate_calls, 0);
  EXPECT_TRUE(emitted_.empty());
  // A refusal before acting leaves nothing in the change journal.
  EXPECT_EQ(ReadFile(*journal_path), "");
  CallResult allowed =
      Run(MakeCall("info", v1::InfoRequest(), {"victor", {"viewer"}}));
  EXPECT_TRUE(allowed.status.ok()) << allowed.status;
  EXPECT_EQ(info_calls, 1);
}

TEST_F(CallGateTest, RefusesMalformedRequestsAndMeta) {
  Call garbage = MakeCall("info", v1::InfoRequest());
  garbage.request = "\xff\xff\xff";
  EXPECT_EQ(Run(garbage).status.code(), absl::StatusCode::kInvalidArgument);
  for (const std::string& reason :
       {std::string("line\nbreak"), std::string("\x1b[2K"),
        std::string("\xc3\x28"), std::string(2000, 'r')}) {
    v1::InfoRequest request;
    request.mutable_meta()->set_reason(reason);
    CallResult r = Run(MakeCall("info", request));
    EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument) << r.status;
  }
  v1::TruncateLogRequest long_id = Truncate(std::string(200, 'i'), "/x");
  EXPECT_EQ(Run(MakeCall("truncate_log", long_id)).status.code(),
            absl::StatusCode::kInvalidArgument);
  for (const std::string& ticket :
       {std::string(129, 't'), std::string("CHG-1\nINC-1"),
        std::string("CHG-77\u2066"), std::string("CHG-1\u200b")}) {
    v1::TruncateLogRequest request = Truncate("ticketed", "/x");
    request.mutable_meta()->set_ticket(ticket);
    CallResult r = Run(MakeCall("truncate_log", request));
    EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument) << r.status;
    EXPECT_THAT(r.status.message(), HasSubstr("ticket")) << r.status;
  }
  EXPECT_EQ(info_calls, 0);
  EXPECT_EQ(truncate_calls, 0);
}

TEST_F(CallGateTest, ACallWhoseDeadlinePassedDoesNotAct) {
  // A controller that held a call back until its operator gave up.
  Call late = MakeCall("truncate_log", Truncate("late-1", "/x"));
  late.deadline = absl::Now() - absl::Seconds(1);
  CallResult refused = Run(late);
  EXPECT_EQ(refused.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(truncate_calls, 0);
  EXPECT_EQ(ReadFile(*journal_path), "");
}

TEST_F(CallGateTest, ASignedRequestRunsOnceAndItsRefusalIsJournaled) {
  Call call = MakeCall("truncate_log", Truncate("signed-1", "/x"));
  call.via = "controller opsctld.test";
  call.journal_read_only = true;
  call.signed_request =
      Call::Signed{"nonce-1", absl::Now() + absl::Seconds(60)};
  ASSERT_TRUE(Run(call).status.ok());
  // The same signed request again, with a new request id even: the nonce
  // is what was signed once.
  call.request = Truncate("signed-2", "/x").SerializeAsString();
  CallResult replayed = Run(call);
  EXPECT_EQ(replayed.status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(replayed.status.message(), HasSubstr("already received"));
  EXPECT_EQ(truncate_calls, 1);
  // A new gate on the same journal (the agent restarted) still knows it.
  gate_ = NewGate();
  EXPECT_THAT(Run(call).status.message(), HasSubstr("already received"));
  EXPECT_EQ(truncate_calls, 1);
  const std::string journal = ReadFile(*journal_path);
  EXPECT_THAT(journal, HasSubstr("\"event\":\"REFUSED\""));
  EXPECT_THAT(journal, HasSubstr("\"nonce\""));
}

TEST_F(CallGateTest, RefusalsAreJournaledAtABoundedRateAndSize) {
  // A controller sending forgeries as fast as it can.
  Call forged = MakeCall("info", v1::InfoRequest());
  forged.via = "controller opsctld.test";
  forged.journal_read_only = true;
  const std::string claimed(60000, 'x');
  const absl::Time started = absl::Now();
  for (int i = 0; i < 1000; ++i) {
    gate_->Refuse(forged, claimed, claimed,
                  absl::UnauthenticatedError("the request is not signed"));
  }
  // A burst of 100, then 10 a second for as long as the loop took (over a
  // second under ASan on a loaded machine).
  const int allowed =
      100 + 1 +
      static_cast<int>(10 * absl::ToDoubleSeconds(absl::Now() - started));
  const std::string journal = ReadFile(*journal_path);
  int refusals = 0;
  for (const std::string& line : Lines(journal))
    refusals += absl::StrContains(line, "\"event\":\"REFUSED\"");
  EXPECT_GE(refusals, 100);
  EXPECT_LE(refusals, allowed);
  // Each with at most one count of those left out before it.
  EXPECT_LT(journal.size(), static_cast<size_t>(allowed) * 2 * 1024);
  // Once the budget refills, the count of what was left out comes first.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (ReadFile(*journal_path).find("NOT_JOURNALED") == std::string::npos &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    gate_->Refuse(forged, "info", "after",
                  absl::UnauthenticatedError("the request is not signed"));
  }
  EXPECT_THAT(ReadFile(*journal_path),
              HasSubstr("more refused calls/reads from alice (oncall) not "
                        "journaled"));
}

// What a readonly operator's longest allowed read (path, reason, incident)
// leaves in the journal with a controller configured (every call
// journaled): the request's digests and bounded text, never the request.
v1::DiskUsageRequest LongestRead(int i) {
  v1::DiskUsageRequest request;
  request.mutable_meta()->set_request_id(absl::StrCat("read-", i));
  request.mutable_meta()->set_reason(std::string(1024, 'r'));
  request.mutable_meta()->set_incident(std::string(128, 'i'));
  request.set_path(absl::StrCat("/refused/", std::string(4000, 'p')));
  return request;
}

TEST_F(CallGateTest, ReadsAndRefusalsAreJournaledByDigestWithBoundedText) {
  for (int i = 0; i < 5; ++i) {
    // Allowed, and failing with the path in its error.
    Call read = MakeCall("disk_usage", LongestRead(i));
    read.journal_read_only = true;
    EXPECT_EQ(Run(read).status.code(), absl::StatusCode::kPermissionDenied);
    // Denied: a viewer may not scan.
    Call denied =
        MakeCall("disk_usage", LongestRead(100 + i), {"victor", {"viewer"}});
    denied.journal_read_only = true;
    EXPECT_EQ(Run(denied).status.code(), absl::StatusCode::kPermissionDenied);
  }
  const std::vector<std::string> lines = Lines(ReadFile(*journal_path));
  ASSERT_EQ(lines.size(), 15u);  // STARTED, FINISHED; REFUSED
  for (const std::string& line : lines) {
    // The request alone is over 5 KiB; its path was in every error.
    EXPECT_LT(line.size(), 1200u) << line;
    EXPECT_THAT(line, Not(HasSubstr(std::string(300, 'p'))));
    EXPECT_THAT(line, Not(HasSubstr("\"request\"")));
  }
  EXPECT_THAT(lines[0], HasSubstr("\"requestDigest\""));
  EXPECT_THAT(lines[0], HasSubstr("\"parametersSha256\""));
  EXPECT_THAT(lines[0], HasSubstr("\"reasonSha256\""));
  EXPECT_THAT(lines[0], HasSubstr("bytes in all]"));
  EXPECT_THAT(lines[1], HasSubstr("\"event\":\"FINISHED\""));
  EXPECT_THAT(lines[1], HasSubstr("\"resultSha256\""));
  EXPECT_THAT(lines[2], HasSubstr("\"event\":\"REFUSED\""));
  // A change keeps its whole request: a retry after a restart is compared
  // with it.
  Call change = MakeCall("truncate_log", Truncate("change-1", "/x"));
  change.journal_read_only = true;
  ASSERT_TRUE(Run(change).status.ok());
  EXPECT_THAT(ReadFile(*journal_path), HasSubstr("TruncateLogRequest"));
}

TEST_F(CallGateTest, ReadJournalingIsBoundedPerCaller) {
  // One operator reading as fast as it can does not use up another's
  // journaling.
  const absl::Time started = absl::Now();
  for (int i = 0; i < 400; ++i) {
    Call read = MakeCall("disk_usage", LongestRead(i));
    read.journal_read_only = true;
    Run(read);
  }
  const int allowed =
      100 + 1 +
      static_cast<int>(10 * absl::ToDoubleSeconds(absl::Now() - started));
  Call other = MakeCall("disk_usage", LongestRead(1000), {"bob", {"oncall"}});
  other.journal_read_only = true;
  Run(other);
  const std::string journal = ReadFile(*journal_path);
  int alice = 0, bob = 0;
  for (const std::string& line : Lines(journal)) {
    if (!absl::StrContains(line, "\"event\":\"STARTED\"")) continue;
    if (absl::StrContains(line, "alice (oncall)")) ++alice;
    if (absl::StrContains(line, "bob (oncall)")) ++bob;
  }
  EXPECT_EQ(scan_calls, 401);  // all of them ran
  EXPECT_GE(alice, 100);
  EXPECT_LE(alice, allowed);
  EXPECT_EQ(bob, 1);
  // STARTED, FINISHED and at most one count before each.
  EXPECT_LT(journal.size(), static_cast<size_t>(3 * allowed + 2) * 1200);
  // Once alice's budget refills, one line counts what was left out.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (ReadFile(*journal_path).find("NOT_JOURNALED") == std::string::npos &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    Call read = MakeCall("disk_usage", LongestRead(2000));
    read.journal_read_only = true;
    Run(read);
  }
  EXPECT_THAT(ReadFile(*journal_path),
              HasSubstr("more refused calls/reads from alice (oncall) not "
                        "journaled"));
}

TEST_F(CallGateTest, AChangeNeedsARequestIdAndIsJournaledBeforeItActs) {
  CallResult no_id = Run(MakeCall("truncate_log", Truncate("", "/x")));
  EXPECT_EQ(no_id.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_id.status.message(), HasSubstr("needs a request_id"));
  EXPECT_EQ(truncate_calls, 0);

  v1::TruncateLogRequest ticketed = Truncate("req-1", "/x");
  ticketed.mutable_meta()->set_ticket("CHG-1042");
  CallResult ok = Run(MakeCall("truncate_log", ticketed));
  ASSERT_TRUE(ok.status.ok()) << ok.status;
  EXPECT_EQ(truncate_calls, 1);
  // When the handler ran, its intent was already on disk.
  EXPECT_THAT(*journal_when_truncating, HasSubstr("\"event\":\"STARTED\""));
  EXPECT_THAT(*journal_when_truncating, HasSubstr("\"requestId\":\"req-1\""));
  EXPECT_THAT(*journal_when_truncating, HasSubstr("alice (oncall)"));
  EXPECT_THAT(*journal_when_truncating, HasSubstr("\"ticket\":\"CHG-1042\""));
  EXPECT_THAT(*journal_when_truncating, Not(HasSubstr("FINISHED")));
  EXPECT_THAT(ReadFile(*journal_path), HasSubstr("\"event\":\"FINISHED\""));
}

TEST_F(CallGateTest, ARetryGetsTheFirstOutcomeAndAnotherUseOfTheIdIsRefused) {
  CallResult first = Run(MakeCall("truncate_log", Truncate("req-2", "/fails")));
  EXPECT_EQ(first.status.code(), absl::StatusCode::kFailedPrecondition);
  // The failure carries its reply.
  v1::TruncateLogReply reply;
  ASSERT_TRUE(reply.ParseFromString(first.final_message));
  EXPECT_EQ(reply.summary(), "found it held by pid 7");

  CallResult retry = Run(MakeCall("truncate_log", Truncate("req-2", "/fails")));
  EXPECT_EQ(truncate_calls, 1);  // not acted on twice
  EXPECT_EQ(retry.status, first.status);
  EXPECT_EQ(retry.final_message, first.final_message);

  CallResult other_caller = Run(MakeCall(
      "truncate_log", Truncate("req-2", "/fails"), {"bob", {"oncall"}}));
  EXPECT_EQ(other_caller.status.code(), absl::StatusCode::kAlreadyExists)
      << other_caller.status;
  CallResult other_request =
      Run(MakeCall("truncate_log", Truncate("req-2", "/elsewhere")));
  EXPECT_EQ(other_request.status.code(), absl::StatusCode::kAlreadyExists)
      << other_request.status;
  EXPECT_EQ(truncate_calls, 1);

  // After a restart the journal still knows the id.
  gate_ = NewGate();
  CallResult after_restart =
      Run(MakeCall("truncate_log", Truncate("req-2", "/fails")));
  EXPECT_EQ(truncate_calls, 1);
  EXPECT_EQ(after_restart.status.code(), absl::StatusCode::kFailedPrecondition);
  CallResult changed_after_restart =
      Run(MakeCall("truncate_log", Truncate("req-2", "/elsewhere")));
  EXPECT_EQ(changed_after_restart.status.code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(truncate_calls, 1);
}

TEST_F(CallGateTest, HeavyScansAreLimited) {
  absl::Notification started, may_finish;
  scan_started = &started;
  scan_may_finish = &may_finish;
  std::thread first([&] {
    EXPECT_TRUE(
        Run(MakeCall("disk_usage", v1::DiskUsageRequest())).status.ok());
  });
  started.WaitForNotification();
  CallResult second =
      gate_->Run(MakeCall("disk_usage", v1::DiskUsageRequest()),
                 [](const google::protobuf::Message&) { return true; });
  EXPECT_EQ(second.status.code(), absl::StatusCode::kResourceExhausted);
  // Read-only calls that are not scans are not held up.
  EXPECT_TRUE(gate_
                  ->Run(MakeCall("info", v1::InfoRequest()),
                        [](const google::protobuf::Message&) { return true; })
                  .status.ok());
  may_finish.Notify();
  first.join();
  scan_started = nullptr;
  scan_may_finish = nullptr;
  EXPECT_EQ(scan_calls, 1);
  // The slot is free again.
  EXPECT_TRUE(Run(MakeCall("disk_usage", v1::DiskUsageRequest())).status.ok());
}

TEST_F(CallGateTest, HostTextAnOperationLetThroughIsEscaped) {
  CallResult r = Run(MakeCall("info", v1::InfoRequest()));
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(emitted_.size(), 1u);
  v1::InfoReply reply;
  ASSERT_TRUE(reply.ParseFromString(emitted_[0]));
  EXPECT_EQ(reply.hostname(), "evil\\x1b]0;owned\\x07");
  ASSERT_TRUE(reply.ParseFromString(r.final_message));
  EXPECT_EQ(reply.hostname(), "evil\\x1b]0;owned\\x07");
  EXPECT_EQ(reply.caller_identity(), "alice");
}

}  // namespace
}  // namespace opsagent
