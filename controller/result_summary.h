#ifndef OPSAGENT_CONTROLLER_RESULT_SUMMARY_H_
#define OPSAGENT_CONTROLLER_RESULT_SUMMARY_H_

#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "common/operation_catalog.h"
#include "google/protobuf/message.h"

namespace opsagent {

// One line saying what an operation's result was ("available 5.3G of
// 7.5G; largest salt-master 6.9G"), for the audit log and for people
// reading it. The opsctl command of each operation registers its line at
// start-up; an operation without one is summarized by its result's
// `summary` field, if it has one.
using ResultSummary =
    std::function<std::string(const google::protobuf::Message& final)>;

bool RegisterResultSummary(absl::string_view operation, ResultSummary summary);

std::string SummarizeResult(const OperationInfo& op,
                            const google::protobuf::Message& final);

// The typed form, for a command's file; the operation is the one whose RPC
// answers with `Final` (a reply, or a stream's event):
//   static const bool kRegistered =
//       RegisterResultSummaryOf<v1::MemoryReply>(&MemorySummary);
template <typename Final>
bool RegisterResultSummaryOf(std::string (*summary)(const Final&)) {
  return RegisterResultSummary(
      OperationFor<Final>().name,
      [summary](const google::protobuf::Message& final) {
        return summary(static_cast<const Final&>(final));
      });
}

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_RESULT_SUMMARY_H_
