#include "tests/testing/prometheus_query.h"

#include "google/protobuf/struct.pb.h"
#include "httplib.h"
#include "tests/testing/opsctl_runner.h"

namespace opsagent::testing {

std::string PrometheusQuery(int port, const std::string& query) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5, 0);
  httplib::Result answer =
      client.Post("/api/v1/query", httplib::Params{{"query", query}});
  if (!answer || answer->status != 200) return "";
  const google::protobuf::Value result =
      JsonField(JsonField(ParseJson(answer->body), "data"), "result");
  if (result.list_value().values_size() != 1) return "";
  return JsonField(result.list_value().values(0), "value")
      .list_value()
      .values(1)
      .string_value();
}

}  // namespace opsagent::testing
