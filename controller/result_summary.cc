#include "controller/result_summary.h"

#include <map>

namespace opsagent {
namespace {

std::map<std::string, ResultSummary, std::less<>>& Summaries() {
  static auto* summaries =
      new std::map<std::string, ResultSummary, std::less<>>();
  return *summaries;
}

}  // namespace

bool RegisterResultSummary(absl::string_view operation, ResultSummary summary) {
  return Summaries().emplace(std::string(operation), std::move(summary)).second;
}

std::string SummarizeResult(const OperationInfo& op,
                            const google::protobuf::Message& final) {
  auto it = Summaries().find(op.name);
  if (it != Summaries().end()) return it->second(final);
  const google::protobuf::FieldDescriptor* field =
      final.GetDescriptor()->FindFieldByName("summary");
  if (field != nullptr &&
      field->type() == google::protobuf::FieldDescriptor::TYPE_STRING &&
      !field->is_repeated())
    return final.GetReflection()->GetString(final, field);
  return "";
}

}  // namespace opsagent
