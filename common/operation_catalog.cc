#include "common/operation_catalog.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "opsagent/v1/operation.pb.h"

namespace opsagent {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::MessageFactory;

[[noreturn]] void Invalid(const std::string& why) {
  std::fprintf(stderr, "opsagent: agent.proto is invalid: %s\n", why.c_str());
  std::abort();
}

const FieldDescriptor* MetaField(const Descriptor* request) {
  const FieldDescriptor* meta = request->FindFieldByNumber(1);
  if (meta == nullptr || meta->name() != "meta" ||
      meta->message_type() != v1::RequestMeta::descriptor()) {
    return nullptr;
  }
  return meta;
}

struct Catalog {
  std::vector<std::unique_ptr<OperationInfo>> owned;
  std::vector<const OperationInfo*> all;
};

const Catalog& TheCatalog() {
  static const Catalog* catalog = [] {
    auto* built = new Catalog();
    const google::protobuf::ServiceDescriptor* service =
        v1::RequestMeta::descriptor()->file()->FindServiceByName("OpsAgent");
    if (service == nullptr) Invalid("no service OpsAgent");
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* method = service->method(i);
      if (!method->options().HasExtension(v1::operation))
        Invalid(absl::StrCat(method->full_name(), " declares no operation"));
      const v1::OperationOptions& options =
          method->options().GetExtension(v1::operation);
      if (options.name().empty())
        Invalid(absl::StrCat(method->full_name(), ": operation without name"));
      if (MetaField(method->input_type()) == nullptr) {
        Invalid(absl::StrCat(method->input_type()->full_name(),
                             ": field 1 must be `RequestMeta meta`"));
      }
      if (method->client_streaming())
        Invalid(absl::StrCat(method->full_name(), ": client streaming"));
      if (method->server_streaming() &&
          method->output_type()->FindFieldByName("result") == nullptr) {
        Invalid(absl::StrCat(method->output_type()->full_name(),
                             ": a stream's events need a `result`"));
      }
      for (const OperationInfo* other : built->all) {
        if (!options.verb().empty() && other->verb == options.verb())
          Invalid(absl::StrCat("verb \"", options.verb(), "\" of ",
                               options.name(), " is ", other->name, "'s too"));
      }
      if (options.read_only_per_declaration() && !options.mutating())
        Invalid(absl::StrCat(options.name(),
                             ": read_only_per_declaration needs mutating"));
      auto info = std::make_unique<OperationInfo>();
      info->name = options.name();
      info->verb = options.verb();
      info->read_only_per_declaration = options.read_only_per_declaration();
      info->summary = options.summary();
      info->mutating = options.mutating();
      info->heavy = options.heavy();
      info->path = absl::StrCat("/", service->full_name(), "/", method->name());
      info->streaming = method->server_streaming();
      info->method = method;
      built->all.push_back(info.get());
      built->owned.push_back(std::move(info));
    }
    return built;
  }();
  return *catalog;
}

std::unique_ptr<Message> New(const Descriptor* type) {
  return std::unique_ptr<Message>(
      MessageFactory::generated_factory()->GetPrototype(type)->New());
}

}  // namespace

std::unique_ptr<Message> OperationInfo::NewRequest() const {
  return New(method->input_type());
}

std::unique_ptr<Message> OperationInfo::NewReply() const {
  return New(method->output_type());
}

const v1::RequestMeta& OperationInfo::Meta(const Message& request) {
  return static_cast<const v1::RequestMeta&>(
      request.GetReflection()->GetMessage(request,
                                          MetaField(request.GetDescriptor())));
}

v1::RequestMeta* OperationInfo::MutableMeta(Message* request) {
  return static_cast<v1::RequestMeta*>(request->GetReflection()->MutableMessage(
      request, MetaField(request->GetDescriptor())));
}

bool OperationInfo::IsFinal(const Message& event) const {
  if (!streaming) return true;
  const FieldDescriptor* result =
      event.GetDescriptor()->FindFieldByName("result");
  return result != nullptr && event.GetReflection()->HasField(event, result);
}

const Message& OperationInfo::ResultOf(const Message& final) const {
  if (!streaming) return final;
  const FieldDescriptor* result =
      final.GetDescriptor()->FindFieldByName("result");
  return final.GetReflection()->GetMessage(final, result);
}

absl::Span<const OperationInfo* const> AllOperations() {
  return TheCatalog().all;
}

const OperationInfo* FindOperation(absl::string_view name) {
  for (const OperationInfo* op : TheCatalog().all) {
    if (op->name == name) return op;
  }
  return nullptr;
}

const OperationInfo* FindOperationByPath(absl::string_view path) {
  for (const OperationInfo* op : TheCatalog().all) {
    if (op->path == path) return op;
  }
  return nullptr;
}

const OperationInfo* FindOperationByVerb(absl::string_view verb) {
  if (verb.empty()) return nullptr;
  for (const OperationInfo* op : TheCatalog().all) {
    if (op->verb == verb) return op;
  }
  return nullptr;
}

const OperationInfo& OperationOf(const Descriptor* type) {
  for (const OperationInfo* op : TheCatalog().all) {
    if (op->method->input_type() == type || op->method->output_type() == type)
      return *op;
  }
  Invalid(absl::StrCat("no operation takes or answers ", type->full_name()));
}

std::string ParametersJson(const Message& request) {
  std::unique_ptr<Message> copy(request.New());
  copy->CopyFrom(request);
  OperationInfo::MutableMeta(copy.get())->Clear();
  copy->GetReflection()->ClearField(copy.get(),
                                    MetaField(copy->GetDescriptor()));
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(*copy, &json, options).ok())
    return "{}";
  return json;
}

}  // namespace opsagent
