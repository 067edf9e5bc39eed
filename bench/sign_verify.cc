// The cost of a signed request on each side, in one process: opsctl's
// signing of one host's envelope, and the agent's checks before it runs one:
// OpenSignedRequest (certificate digest, signature, lifetime), and apart from
// it the operator certificate's chain to the CA (which relayed calls needed
// before requests were signed). Prints microseconds per request for each, as
// a Markdown table row: sign | open | chain.
//
//   sign_verify CA_CERT OPERATOR_CERT OPERATOR_KEY [N]

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "common/signing/signed_request.h"
#include "common/tls/chain_verifier.h"
#include "opsagent/v1/agent.pb.h"

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

double MicrosPer(absl::Duration elapsed, int n) {
  return absl::ToDoubleMicroseconds(elapsed) / n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: sign_verify CA_CERT OPERATOR_CERT OPERATOR_KEY [N]\n");
    return 2;
  }
  int n = 2000;
  if (argc > 4 && !absl::SimpleAtoi(argv[4], &n)) return 2;
  auto signer = opsagent::RequestSigner::FromFiles(argv[2], argv[3]);
  if (!signer.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(signer.status().message()).c_str());
    return 1;
  }
  std::vector<std::string> problems;
  auto chain =
      opsagent::ChainVerifier::Build(ReadFile(argv[1]), {},
                                     /*crls_required=*/false, &problems);
  if (!chain.ok()) return 1;
  const std::string certificate = ReadFile(argv[2]);

  opsagent::v1::TruncateLogRequest request;
  request.mutable_meta()->set_request_id(
      "6f1c1f9e-4d6b-4f0e-9a51-1f2a3b4c5d6e");
  request.mutable_meta()->set_reason("DiskUsageWarning xqwatcher");
  request.mutable_meta()->set_incident("INC-42");
  request.set_path("/edx/var/log/xqwatcher/xqwatcher.log");
  opsagent::v1::RequestEnvelope envelope;
  envelope.set_request_id(request.meta().request_id());
  envelope.set_operation("truncate_log");
  request.SerializeToString(envelope.mutable_request());
  envelope.set_target_host("xqwatcher-1.example.org");

  std::vector<opsagent::v1::SignedRequest> signed_requests(n);
  absl::Time start = absl::Now();
  for (int i = 0; i < n; ++i) {
    auto signed_request = (*signer)->Sign(envelope, absl::Now());
    if (!signed_request.ok()) return 1;
    signed_requests[i] = *std::move(signed_request);
  }
  const absl::Duration signing = absl::Now() - start;

  start = absl::Now();
  for (int i = 0; i < n; ++i) {
    if (!(*chain)->Verify(certificate, certificate).ok()) return 1;
  }
  const absl::Duration chain_checks = absl::Now() - start;
  start = absl::Now();
  for (int i = 0; i < n; ++i) {
    if (!opsagent::OpenSignedRequest(signed_requests[i], certificate,
                                     absl::Now())
             .ok())
      return 1;
  }
  const absl::Duration opening = absl::Now() - start;
  std::printf(
      "| signed request (ECDSA P-256, %zu-byte envelope), %d each | %.0f µs "
      "| %.0f µs | %.0f µs |\n",
      signed_requests[0].envelope().size(), n, MicrosPer(signing, n),
      MicrosPer(opening, n), MicrosPer(chain_checks, n));
  return 0;
}
