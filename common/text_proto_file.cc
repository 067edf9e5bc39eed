#include "common/text_proto_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace opsagent {
namespace {

// Keeps the first error with its position instead of printing to stderr.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  explicit FirstErrorCollector(std::string origin)
      : origin_(std::move(origin)) {}

  void AddError(int line, int column, const std::string& message) override {
    if (first_error_.empty()) {
      first_error_ =
          absl::StrCat(origin_, ":", line + 1, ":", column + 1, ": ", message);
    }
  }

  const std::string& first_error() const { return first_error_; }

 private:
  std::string origin_;
  std::string first_error_;
};

}  // namespace

absl::Status ParseTextProto(const std::string& text, const std::string& origin,
                            google::protobuf::Message* message) {
  FirstErrorCollector errors(origin);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, message)) {
    return absl::InvalidArgumentError(
        errors.first_error().empty()
            ? absl::StrCat(origin, ": not valid text format")
            : errors.first_error());
  }
  return absl::OkStatus();
}

absl::Status LoadTextProtoFile(const std::string& path,
                               google::protobuf::Message* message) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseTextProto(text.str(), path, message);
}

}  // namespace opsagent
