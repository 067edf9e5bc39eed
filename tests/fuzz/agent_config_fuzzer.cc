// Fuzzes the agent's configuration loading: Protobuf text format, then the
// defaults and validation the agent applies at start-up (roots, rules, log
// patterns, services, command templates). Any text either fails with a
// status or yields a configuration with a listen address.
//
// The TLS file names in the input are replaced by real certificate files
// minted once per process, so validation goes past the TLS check into the
// rest of the configuration instead of stopping at "file not found".

#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/server/agent_config.h"
#include "common/text_proto_file.h"
#include "google/protobuf/stubs/logging.h"
#include "tests/testing/test_pki.h"

namespace {

opsagent::v1::TlsConfig RealTlsFiles() {
  google::protobuf::SetLogHandler(nullptr);
  char directory[] = "/tmp/agent_config_fuzzer.XXXXXX";
  if (mkdtemp(directory) == nullptr) abort();
  auto ca =
      opsagent::testing::TestCertificateAuthority::Create(directory, "fuzz");
  if (!ca.ok()) abort();
  opsagent::testing::CertificateSpec spec;
  spec.common_name = "agent";
  spec.dns_names = {"localhost"};
  spec.server = true;
  auto agent = (*ca)->Issue("agent", spec);
  if (!agent.ok()) abort();
  opsagent::v1::TlsConfig tls;
  tls.set_certificate(agent->certificate);
  tls.set_private_key(agent->private_key);
  tls.set_ca_certificate((*ca)->certificate_path());
  return tls;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const opsagent::v1::TlsConfig tls = RealTlsFiles();
  const std::string text(reinterpret_cast<const char*>(data), size);
  opsagent::v1::AgentConfig config;
  if (!opsagent::ParseTextProto(text, "fuzz", &config).ok()) return 0;
  if (config.has_tls()) {
    config.mutable_tls()->set_certificate(tls.certificate());
    config.mutable_tls()->set_private_key(tls.private_key());
    config.mutable_tls()->set_ca_certificate(tls.ca_certificate());
  }
  auto compiled = opsagent::CompileAgentConfig(std::move(config));
  if (!compiled.ok()) return 0;
  if (compiled->config.listen_address().empty()) abort();
  // Every root is pinned, every truncatable pattern parsed.
  if (compiled->inspection_roots.size() !=
          static_cast<size_t>(compiled->config.inspection_roots_size()) ||
      compiled->truncatable_logs.patterns().size() !=
          static_cast<size_t>(compiled->config.truncatable_logs_size()))
    abort();
  return 0;
}
