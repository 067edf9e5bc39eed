#ifndef OPSAGENT_TESTS_TESTING_PROMETHEUS_QUERY_H_
#define OPSAGENT_TESTS_TESTING_PROMETHEUS_QUERY_H_

#include <string>

namespace opsagent::testing {

// The value of an instant query (PromQL) against the real Prometheus on
// 127.0.0.1:`port` when it selects exactly one series ("1"), or "" (no
// answer, no series, several).
std::string PrometheusQuery(int port, const std::string& query);

}  // namespace opsagent::testing

#endif  // OPSAGENT_TESTS_TESTING_PROMETHEUS_QUERY_H_
