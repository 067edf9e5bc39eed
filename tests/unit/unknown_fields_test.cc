// Fields a receiver does not declare, anywhere in a request, are refused.

#include "common/unknown_fields.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opsagent/v1/agent.pb.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

// `message` as it arrives: serialized with the extra field, parsed again.
template <typename Message>
Message Received(const Message& message) {
  std::string wire;
  EXPECT_TRUE(message.SerializeToString(&wire));
  Message received;
  EXPECT_TRUE(received.ParseFromString(wire));
  return received;
}

TEST(UnknownFieldsTest, AKnownRequestPasses) {
  v1::TruncateLogRequest request;
  request.set_path("/var/log/app.log");
  request.mutable_meta()->set_read_only(true);
  EXPECT_TRUE(RefuseUnknownFields(Received(request), "this agent").ok());
}

// An older opsctl's outcome filter (field 6, text, before the enum) would
// otherwise answer every row as if filtered.
TEST(UnknownFieldsTest, ARetiredFieldIsRefused) {
  v1::AuditQuery query;
  query.set_host("web-1");
  query.GetReflection()->MutableUnknownFields(&query)->AddLengthDelimited(6,
                                                                          "ok");
  absl::Status refused = RefuseUnknownFields(Received(query), "this opsctld");
  EXPECT_TRUE(absl::IsInvalidArgument(refused));
  EXPECT_THAT(refused.message(),
              HasSubstr("AuditQuery holds a field this opsctld does not know"));
}

// A newer caller's restriction inside a nested message (a request's meta)
// would otherwise be dropped by an older agent, which then acts.
TEST(UnknownFieldsTest, AFieldInsideANestedMessageIsRefused) {
  v1::TruncateLogRequest request;
  request.set_path("/var/log/app.log");
  request.mutable_meta()
      ->GetReflection()
      ->MutableUnknownFields(request.mutable_meta())
      ->AddVarint(99, 1);
  absl::Status refused = RefuseUnknownFields(Received(request), "this agent");
  EXPECT_TRUE(absl::IsInvalidArgument(refused));
  EXPECT_THAT(refused.message(), HasSubstr("RequestMeta holds a field"));
}

TEST(UnknownFieldsTest, AFieldInARepeatedMessageIsRefused) {
  v1::RunRequest run;
  run.add_requests();
  v1::SignedRequest* second = run.add_requests();
  second->GetReflection()->MutableUnknownFields(second)->AddFixed32(77, 5);
  EXPECT_FALSE(RefuseUnknownFields(Received(run), "this opsctld").ok());
}

}  // namespace
}  // namespace opsagent
