// Simulates many agents in one process, for the controller's scale
// benchmark (bench/controller_scale.sh): each simulated agent has its own
// certificate (P-256, signed by the swarm's CA), its own channel and TLS
// handshake, and holds one AgentLink stream to the real opsctld, as a real
// agent does. It answers every relayed call at once with a canned reply
// (info: its host name), sends heartbeats, and reconnects with the agent's
// policy (1 s doubling to a cap, jittered; [0, 1 s) after a link that was
// up) when the link drops.
//
// What it skips, so that the figures are the controller's: the agent's call
// gate (certificate verification of the operator, authorization, journal),
// the operation's work, and the agent's own TLS listener.
//
//   agent_swarm DIR N CONTROLLER_PORT
// writes DIR/ca.crt, DIR/controller.{crt,key} ("opsctld.swarm",
// OU=controller), DIR/operator.{crt,key} (alice, OU=oncall), then DIR/ready;
// prints "connected K T" (K links up at Unix time T, in seconds) each time
// the count changes, and runs until killed.
//
//   agent_swarm DIR N PORT1,PORT2[,...]
// links every agent to each of several controllers (all presenting
// DIR/controller.crt), as an agent with `more_controllers` does: one
// channel, handshake and link per controller, each reconnecting on its own.
// "connected K T" then counts every link, and goes on with one
// "PORT:UP/ACCEPTED" a controller: its links up now, and how many times it
// has accepted one since the start (above N: links re-established).
//
// If DIR/hold exists when the swarm is ready, no agent connects until it
// is removed (to measure the controllers with no link first). The first
// connections are spread over SWARM_RAMP_SECONDS (default 1): this one
// process makes every handshake, and 20,000 at once starve its own
// heartbeats.
//
//   agent_swarm DIR N CONTROLLER_PORT ENROLL_PORT
// enrolls instead (bench/fleet_enrollment.sh): it also writes DIR/host-ca.
// {crt,key} (an intermediate limited to .swarm.test) and waits for
// DIR/token; each agent then makes its key and request (before the clock
// starts: real hosts do that on their own CPUs), enrolls with the
// controller's host CA over TLS (64 at a time) and links with what it got;
// prints "enrolled N T" when all hold a certificate. When DIR/renew appears,
// each linked agent asks for a renewal over its link; prints "renewed K T"
// as the answers come.

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/tls/certificate_request.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "opsagent/v1/agent.pb.h"
#include "opsagent/v1/controller.grpc.pb.h"
#include "tests/testing/test_pki.h"

namespace {

using ::opsagent::testing::CertificateFiles;
using ::opsagent::testing::CertificateSpec;
using ::opsagent::testing::TestCertificateAuthority;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::atomic<int> connected{0};
std::atomic<int> renewed{0};
// By controller (index in CONTROLLER_PORT's list): links up, links ever
// accepted.
constexpr int kMaxControllers = 8;
std::atomic<int> connected_to[kMaxControllers];
std::atomic<int> accepted_by[kMaxControllers];

class SimulatedAgent;
class Link;

// Reconnections due, by time (one thread).
class Scheduler {
 public:
  void At(absl::Time when, SimulatedAgent* agent) {
    absl::MutexLock lock(&mutex_);
    due_.push_back({when, agent});
  }
  void Run();

 private:
  absl::Mutex mutex_;
  std::vector<std::pair<absl::Time, SimulatedAgent*>> due_
      ABSL_GUARDED_BY(mutex_);
};

Scheduler* scheduler = nullptr;

// One agent's connection to one controller (an agent linked to several
// controllers is several of these with one name and certificate): its
// identity, and its current link (a reactor).
class SimulatedAgent {
 public:
  SimulatedAgent(std::string name, std::string target, int controller,
                 std::shared_ptr<grpc::ChannelCredentials> credentials)
      : name_(std::move(name)),
        target_(std::move(target)),
        controller_(controller),
        credentials_(std::move(credentials)) {}

  void Connect();
  // The link ended after being up for `up` (zero: never accepted).
  void Ended(absl::Duration up) {
    absl::Duration wait;
    if (up >= absl::Seconds(10)) {
      failures_ = 0;
      wait = Jitter(absl::ZeroDuration(), absl::Seconds(1));
    } else {
      const absl::Duration cap = std::min(
          absl::Seconds(30), absl::Seconds(1) * (1 << std::min(failures_, 10)));
      ++failures_;
      wait = Jitter(cap / 2, cap);
    }
    scheduler->At(absl::Now() + wait, this);
  }
  const std::string& name() const { return name_; }
  int controller() const { return controller_; }
  void set_credentials(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    credentials_ = std::move(credentials);
  }
  // The link up now (null between links), for a renewal request.
  void set_link(Link* link) {
    absl::MutexLock lock(&link_mutex_);
    link_ = link;
  }
  void Renew(const std::string& csr_pem);

 private:
  static absl::Duration Jitter(absl::Duration low, absl::Duration high) {
    static thread_local std::mt19937_64 random(std::random_device{}());
    return low + (high - low) * std::uniform_real_distribution<>(0, 1)(random);
  }

  const std::string name_;
  const std::string target_;
  const int controller_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  absl::Mutex link_mutex_;
  Link* link_ ABSL_GUARDED_BY(link_mutex_) = nullptr;
  // The current link's channel and stub, replaced (and the old ones freed)
  // on the scheduler's thread, never inside a gRPC callback.
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<opsagent::v1::AgentLink::Stub> stub_;
  int failures_ = 0;
};

// One link of one agent.
class Link final
    : public grpc::ClientBidiReactor<opsagent::v1::AgentMessage,
                                     opsagent::v1::ControllerMessage> {
 public:
  Link(SimulatedAgent* agent, opsagent::v1::AgentLink::Stub* stub)
      : agent_(agent) {
    stub->async()->Connect(&context_, this);
    opsagent::v1::AgentMessage hello;
    hello.mutable_hello()->set_hostname(agent->name());
    hello.mutable_hello()->add_roles("swarm");
    hello.mutable_hello()->set_environment("bench");
    hello.mutable_hello()->set_agent_version("swarm");
    Queue(std::move(hello));
    StartRead(&in_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (in_.has_accepted()) {
      accepted_at_ = absl::Now();
      ++connected;
      ++connected_to[agent_->controller()];
      ++accepted_by[agent_->controller()];
      agent_->set_link(this);
    } else if (in_.has_renewed()) {
      if (in_.renewed().status().code() == 0) ++renewed;
    } else if (in_.has_call()) {
      opsagent::v1::InfoReply reply;
      reply.set_hostname(agent_->name());
      reply.set_agent_version("swarm");
      opsagent::v1::AgentMessage result;
      result.mutable_result()->set_call_id(in_.call().call_id());
      result.mutable_result()->set_final_message(reply.SerializeAsString());
      Queue(std::move(result));
    } else if (in_.has_heartbeat()) {
      opsagent::v1::AgentMessage beat;
      beat.mutable_heartbeat()->set_sent_unix_ms(
          absl::ToUnixMillis(absl::Now()));
      Queue(std::move(beat));
    }
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    const opsagent::v1::AgentMessage* next = nullptr;
    {
      absl::MutexLock lock(&mutex_);
      queue_.erase(queue_.begin());
      if (!ok) queue_.clear();
      if (!queue_.empty()) {
        next = &queue_.front();
      } else {
        writing_ = false;
      }
    }
    if (next != nullptr) StartWrite(next);
  }

  void OnDone(const grpc::Status&) override {
    agent_->set_link(nullptr);
    absl::Duration up = absl::ZeroDuration();
    if (accepted_at_ != absl::InfinitePast()) {
      --connected;
      --connected_to[agent_->controller()];
      up = absl::Now() - accepted_at_;
    }
    SimulatedAgent* agent = agent_;
    delete this;
    agent->Ended(up);
  }

  void Queue(opsagent::v1::AgentMessage message) {
    const opsagent::v1::AgentMessage* first;
    {
      absl::MutexLock lock(&mutex_);
      queue_.push_back(std::move(message));
      if (writing_) return;
      writing_ = true;
      first = &queue_.front();
    }
    StartWrite(first);
  }

 private:
  SimulatedAgent* const agent_;
  grpc::ClientContext context_;
  opsagent::v1::ControllerMessage in_;
  absl::Time accepted_at_ = absl::InfinitePast();
  absl::Mutex mutex_;
  std::deque<opsagent::v1::AgentMessage> queue_ ABSL_GUARDED_BY(mutex_);
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
};

void SimulatedAgent::Connect() {
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("opsctld.swarm");
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  // A fresh channel per link, as the agent makes one per session. The link
  // deletes itself when it ends.
  channel_ = grpc::CreateCustomChannel(target_, credentials_, args);
  stub_ = opsagent::v1::AgentLink::NewStub(channel_);
  new Link(this, stub_.get());
}

void SimulatedAgent::Renew(const std::string& csr_pem) {
  absl::MutexLock lock(&link_mutex_);
  if (link_ == nullptr) return;
  opsagent::v1::AgentMessage renew;
  renew.mutable_renew()->set_csr_pem(csr_pem);
  link_->Queue(std::move(renew));
}

double UnixSeconds() {
  return absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
}

// Enrolls each of `names` with the token in DIR/token, 64 at a time; the
// credentials each got, in order.
std::vector<std::shared_ptr<grpc::ChannelCredentials>> EnrollAll(
    const std::string& dir, const std::vector<std::string>& names,
    int enroll_port, const std::string& root) {
  while (access((dir + "/token").c_str(), R_OK) != 0)
    absl::SleepFor(absl::Milliseconds(50));
  absl::SleepFor(absl::Milliseconds(100));  // written whole
  std::string token = Read(dir + "/token");
  while (!token.empty() && (token.back() == '\n' || token.back() == ' '))
    token.pop_back();
  std::vector<opsagent::KeyAndRequest> made;
  const absl::Time making = absl::Now();
  for (const std::string& name : names)
    made.push_back(*opsagent::MakeHostKeyAndRequest(name));
  std::fprintf(stderr, "made %zu keys and requests in %s\n", names.size(),
               absl::FormatDuration(absl::Now() - making).c_str());
  grpc::SslCredentialsOptions server_only;
  server_only.pem_root_certs = root;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("opsctld.swarm");
  auto stub = opsagent::v1::Enrollment::NewStub(
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", enroll_port),
                                grpc::SslCredentials(server_only), args));
  std::vector<std::shared_ptr<grpc::ChannelCredentials>> out(names.size());
  std::atomic<size_t> next{0};
  std::atomic<int> failed{0};
  std::printf("enroll-start %.3f\n", UnixSeconds());
  std::fflush(stdout);
  std::vector<std::thread> workers;
  for (int t = 0; t < 64; ++t) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < names.size(); i = next++) {
        opsagent::v1::EnrollRequest request;
        request.set_token(token);
        request.set_hostname(names[i]);
        request.set_csr_pem(made[i].request_pem);
        opsagent::v1::EnrollReply reply;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(120));
        grpc::Status status = stub->Enroll(&context, request, &reply);
        if (!status.ok()) {
          if (failed++ < 3)
            std::fprintf(stderr, "%s: %s\n", names[i].c_str(),
                         status.error_message().c_str());
          continue;
        }
        grpc::SslCredentialsOptions tls;
        tls.pem_root_certs = root;
        tls.pem_cert_chain = reply.certificate_pem();
        tls.pem_private_key = made[i].private_key_pem;
        out[i] = grpc::SslCredentials(tls);
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  std::printf("enrolled %d %.3f\n",
              static_cast<int>(names.size()) - failed.load(), UnixSeconds());
  std::fflush(stdout);
  return out;
}

void Scheduler::Run() {
  for (;;) {
    std::vector<SimulatedAgent*> now;
    {
      absl::MutexLock lock(&mutex_);
      const absl::Time t = absl::Now();
      for (auto it = due_.begin(); it != due_.end();) {
        if (it->first <= t) {
          now.push_back(it->second);
          it = due_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (SimulatedAgent* agent : now) agent->Connect();
    absl::SleepFor(absl::Milliseconds(20));
  }
}

// "7700" or "7700,7701": the controllers' ports, or empty if malformed.
std::vector<int> ParsePorts(absl::string_view text) {
  std::vector<int> ports;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int port = 0;
    if (!absl::SimpleAtoi(part, &port) || port <= 0 || port > 65535 ||
        ports.size() == kMaxControllers)
      return {};
    ports.push_back(port);
  }
  return ports;
}

}  // namespace

int main(int argc, char** argv) {
  int count = 0, enroll_port = 0;
  std::vector<int> ports;
  if ((argc != 4 && argc != 5) || !absl::SimpleAtoi(argv[2], &count) ||
      (ports = ParsePorts(argv[3])).empty() ||
      (argc == 5 && !absl::SimpleAtoi(argv[4], &enroll_port))) {
    std::fprintf(stderr,
                 "usage: agent_swarm DIR N CONTROLLER_PORT[,PORT...] "
                 "[ENROLL_PORT]\n");
    return 2;
  }
  // Each agent's connections, one a controller.
  auto add_agent = [&](std::vector<std::unique_ptr<SimulatedAgent>>& agents,
                       const std::string& name,
                       std::shared_ptr<grpc::ChannelCredentials> credentials) {
    for (size_t c = 0; c < ports.size(); ++c)
      agents.push_back(std::make_unique<SimulatedAgent>(
          name, absl::StrCat("127.0.0.1:", ports[c]), static_cast<int>(c),
          credentials));
  };
  const std::string dir = argv[1];
  auto ca = TestCertificateAuthority::Create(dir, "swarm");
  if (!ca.ok()) {
    std::fprintf(stderr, "%s\n", std::string(ca.status().message()).c_str());
    return 1;
  }
  CertificateSpec controller{
      "opsctld.swarm", {"controller"}, {"opsctld.swarm"}, {"127.0.0.1"}};
  controller.extended_key_usage = "serverAuth";
  CertificateSpec operator_spec{"alice", {"oncall"}};
  operator_spec.not_after_from_now = absl::Hours(24 * 7);
  if (!(*ca)->Issue("controller", controller).ok() ||
      !(*ca)->Issue("operator", operator_spec).ok())
    return 1;
  const std::string root = Read((*ca)->certificate_path());
  std::vector<std::unique_ptr<SimulatedAgent>> agents;
  if (enroll_port != 0) {
    CertificateSpec host_ca{"swarm host CA", {"host-ca"}};
    host_ca.not_after_from_now = absl::Hours(24 * 7);
    host_ca.name_constraints = "critical,permitted;DNS:.swarm.test";
    if (!(*ca)->IssueIntermediate("host-ca", host_ca).ok()) return 1;
    std::rename((*ca)->certificate_path().c_str(), (dir + "/ca.crt").c_str());
    std::ofstream(dir + "/ready") << "ready\n";
    std::vector<std::string> names;
    for (int i = 0; i < count; ++i)
      names.push_back(absl::StrFormat("a%05d.swarm.test", i));
    std::vector<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        EnrollAll(dir, names, enroll_port, root);
    for (int i = 0; i < count; ++i) {
      if (credentials[i] == nullptr) continue;
      add_agent(agents, names[i], credentials[i]);
    }
  }
  const absl::Time minting = absl::Now();
  for (int i = 0; enroll_port == 0 && i < count; ++i) {
    const std::string name = absl::StrFormat("a%05d.swarm.test", i);
    CertificateSpec spec{name, {}, {name}, {}};
    spec.server = true;
    spec.not_after_from_now = absl::Hours(24 * 7);
    absl::StatusOr<CertificateFiles> cert =
        (*ca)->Issue(absl::StrCat("agent-", i), spec);
    if (!cert.ok()) return 1;
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = root;
    tls.pem_cert_chain = Read(cert->certificate);
    tls.pem_private_key = Read(cert->private_key);
    unlink(cert->certificate.c_str());
    unlink(cert->private_key.c_str());
    add_agent(agents, name, grpc::SslCredentials(tls));
  }
  if (enroll_port == 0) {
    std::fprintf(stderr, "minted %d agent certificates in %s\n", count,
                 absl::FormatDuration(absl::Now() - minting).c_str());
    std::rename((*ca)->certificate_path().c_str(), (dir + "/ca.crt").c_str());
    std::ofstream(dir + "/ready") << "ready\n";
  }

  while (access((dir + "/hold").c_str(), F_OK) == 0)
    absl::SleepFor(absl::Milliseconds(50));
  scheduler = new Scheduler();
  std::thread([] { scheduler->Run(); }).detach();
  // Spread the first connections over a second (or SWARM_RAMP_SECONDS),
  // as a fleet booting would.
  int ramp_ms = 1000;
  if (const char* ramp = std::getenv("SWARM_RAMP_SECONDS"); ramp != nullptr) {
    int seconds = 0;
    if (absl::SimpleAtoi(ramp, &seconds) && seconds > 0)
      ramp_ms = seconds * 1000;
  }
  for (auto& agent : agents) {
    scheduler->At(absl::Now() + absl::Milliseconds(std::rand() % ramp_ms),
                  agent.get());
  }
  int last = -1, last_renewed = 0;
  std::string last_by_controller;
  bool renewing = false;
  for (;;) {
    const int now = connected.load();
    std::string by_controller;
    if (ports.size() > 1) {
      for (size_t c = 0; c < ports.size(); ++c)
        absl::StrAppend(&by_controller, " ", ports[c], ":",
                        connected_to[c].load(), "/", accepted_by[c].load());
    }
    if (now != last || by_controller != last_by_controller) {
      std::printf("connected %d %.3f%s\n", now, UnixSeconds(),
                  by_controller.c_str());
      std::fflush(stdout);
      last = now;
      last_by_controller = by_controller;
    }
    if (enroll_port != 0 && !renewing &&
        access((dir + "/renew").c_str(), R_OK) == 0) {
      renewing = true;
      std::vector<std::string> requests;
      // Through the first controller only: one renewal an agent.
      std::vector<SimulatedAgent*> renewing_agents;
      for (auto& agent : agents)
        if (agent->controller() == 0) renewing_agents.push_back(agent.get());
      for (SimulatedAgent* agent : renewing_agents)
        requests.push_back(
            opsagent::MakeHostKeyAndRequest(agent->name())->request_pem);
      std::printf("renew-start %.3f\n", UnixSeconds());
      std::fflush(stdout);
      for (size_t i = 0; i < renewing_agents.size(); ++i)
        renewing_agents[i]->Renew(requests[i]);
    }
    if (const int done = renewed.load(); done != last_renewed) {
      std::printf("renewed %d %.3f\n", done, UnixSeconds());
      std::fflush(stdout);
      last_renewed = done;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}
