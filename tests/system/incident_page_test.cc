// The incident page in a real browser: Debian's chromium, headless, opens
// the link opsctl printed (the controller signed it) over real HTTPS, and
// the page it renders for an alert whose text is hostile (a <script>, an
// <img onerror>, a javascript: link, a javascript: generatorURL) shows that
// text as text: no element the alert wrote exists, no script ran (it would
// have changed the title), and the only link is the http(s) one opsctld
// kept. A link past its expiry, for another incident or with its expiry
// stretched is refused; nothing but GET is served. The screenshot goes to
// the test's outputs (docs/images/incident-page.png is one).

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/alerting_fleet.h"
#include "tests/testing/opsctl_runner.h"

namespace opsagent {
namespace {

using ::opsagent::testing::AlertingFleet;
using ::opsagent::testing::Eventually;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::ParseJson;
using ::opsagent::testing::PickFreePort;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kChromium[] = "/usr/bin/chromium";
constexpr char kLinkKey[] =
    "6f7073616765206b657920666f7220746865207061676520746573742030303031";

std::string Rfc3339(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

// base64(SHA-256(SubjectPublicKeyInfo)) of a PEM certificate: what chromium
// takes to trust that one certificate (--ignore-certificate-errors-spki-list)
// and no other.
std::string SpkiHash(const std::string& certificate_path) {
  FILE* file = std::fopen(certificate_path.c_str(), "r");
  if (file == nullptr) return "";
  X509* certificate = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  if (certificate == nullptr) return "";
  unsigned char* der = nullptr;
  const int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(certificate), &der);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(length), digest);
  OPENSSL_free(der);
  X509_free(certificate);
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

// A token as the controller makes one (page_links.h), from the key the test
// gave it: for expiries the controller would never sign.
std::string Token(const std::string& scope, int64_t expires) {
  const std::string message =
      absl::StrCat("opsagent incident page v1\n", scope, "\n", expires);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), kLinkKey, static_cast<int>(sizeof(kLinkKey) - 1),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       mac, &length);
  return absl::StrCat(expires, ".",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(mac), length)));
}

class IncidentPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kChromium, X_OK) != 0)
      GTEST_SKIP() << "chromium is not installed (Debian package chromium)";
    dir_ = testing::MakeTestDirectory();
    const std::string logs = dir_ + "/logs";
    mkdir(logs.c_str(), 0700);
    WriteFileOrDie(logs + "/app.log", "x\n");
    WriteFileOrDie(dir_ + "/page-key", kLinkKey);
    chmod((dir_ + "/page-key").c_str(), 0600);
    pages_port_ = PickFreePort();
    auto fleet = AlertingFleet::Start(
        {dir_, logs, "", 65536,
         absl::StrCat("pages {\n  listen_address: \"127.0.0.1:", pages_port_,
                      "\"\n  certificate: \"CONTROLLER_CERT\"\n  private_key: "
                      "\"CONTROLLER_KEY\"\n  base_url: \"https://127.0.0.1:",
                      pages_port_, "\"\n  link_key_file: \"", dir_,
                      "/page-key\"\n}\n")});
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
  }

  struct Answer {
    int status = 0;
    std::string body;
    std::string policy;
  };
  Answer Get(const std::string& path, const std::string& method = "GET") const {
    httplib::SSLClient client("127.0.0.1", pages_port_);
    client.set_ca_cert_path(fleet_->ca->certificate_path().c_str());
    client.enable_server_certificate_verification(true);
    httplib::Result result = method == "POST"
                                 ? client.Post(path.c_str(), "", "text/plain")
                                 : client.Get(path.c_str());
    if (!result) return {};
    return {result->status, result->body,
            result->get_header_value("Content-Security-Policy")};
  }

  // chromium, headless, with the controller's certificate (and no other)
  // trusted; `flags` say what to do with `url`.
  ProgramResult Chromium(const std::vector<std::string>& flags,
                         const std::string& url) const {
    std::vector<std::string> argv = {
        kChromium,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--user-data-dir=" + dir_ + "/chromium-profile",
        "--ignore-certificate-errors-spki-list=" +
            SpkiHash(dir_ + "/controller.crt"),
        "--virtual-time-budget=3000"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(url);
    std::vector<std::string> env = {"HOME=" + dir_, "LANG=C.UTF-8",
                                    "PATH=/usr/bin:/bin"};
    absl::StatusOr<ProgramResult> ran =
        RunProgram(argv, absl::Seconds(90), 8 << 20, env);
    EXPECT_TRUE(ran.ok()) << ran.status();
    return ran.ok() ? *ran : ProgramResult{-1, "", "", false};
  }

  std::string dir_;
  int pages_port_ = 0;
  std::unique_ptr<AlertingFleet> fleet_;
};

TEST_F(IncidentPageTest, AHostileAlertRendersAsTextAndNoScriptRuns) {
  const std::string hostile =
      "Disk full <script>document.title='pwned-script'</script>"
      "<img src=x onerror=\\\"document.title='pwned-img'\\\">"
      "<a href=\\\"javascript:document.title='pwned-link'\\\">details</a>";
  const std::string body = absl::StrCat(
      R"({"version":"4","status":"firing","externalURL":"https://alertmanager.example.net","alerts":[{"status":"firing","labels":{"alertname":"DiskUsageWarning","instance":"web-1:9100"},"annotations":{"description":")",
      hostile, R"("},"startsAt":")", Rfc3339(absl::Now() - absl::Minutes(1)),
      R"(","generatorURL":"javascript:document.title='pwned-generator'","fingerprint":"00000000000000e1"}]})");
  AlertingFleet::Answer posted = fleet_->Post(body, fleet_->token);
  ASSERT_EQ(posted.status, 200) << posted.body;

  ProgramResult linked =
      fleet_->alice->Run({"incident", "link", "INC-1", "--output", "json"});
  ASSERT_EQ(linked.exit_code, 0) << linked.stderr_text;
  const std::string url =
      JsonField(ParseJson(linked.stdout_text), "url").string_value();
  ASSERT_THAT(url, HasSubstr(absl::StrCat("https://127.0.0.1:", pages_port_,
                                          "/incidents/INC-1?t=")));

  ProgramResult dom = Chromium({"--dump-dom"}, url);
  ASSERT_EQ(dom.exit_code, 0) << dom.stderr_text;
  const std::string& page = dom.stdout_text;
  EXPECT_THAT(page,
              HasSubstr("<title>INC-1: DiskUsageWarning on web-1</title>"));
  // The alert's text is there, as text.
  EXPECT_THAT(page, HasSubstr("Disk full &lt;script&gt;document.title="));
  EXPECT_THAT(page, HasSubstr("&lt;img src=x onerror="));
  // None of it became an element, and no script ran.
  EXPECT_THAT(page, Not(HasSubstr("<script")));
  EXPECT_THAT(page, Not(HasSubstr("<img")));
  EXPECT_THAT(page, Not(HasSubstr("pwned-script</title>")));
  EXPECT_THAT(page, Not(HasSubstr("<a href=\"javascript")));
  // The one link is the http(s) one opsctld kept; the javascript:
  // generatorURL was refused at the intake.
  EXPECT_THAT(page, HasSubstr("<a href=\"https://alertmanager.example.net\" "
                              "rel=\"noopener noreferrer nofollow\">"));
  EXPECT_THAT(page, Not(HasSubstr("pwned-generator")));

  Answer served = Get(url.substr(url.find("/incidents")));
  EXPECT_EQ(served.status, 200);
  EXPECT_THAT(served.policy, HasSubstr("script-src 'none'"));
  EXPECT_THAT(served.policy, HasSubstr("default-src 'none'"));

  const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  const std::string shot =
      absl::StrCat(outputs != nullptr ? outputs : dir_, "/incident-page.png");
  ProgramResult screenshot = Chromium(
      {"--screenshot=" + shot, "--window-size=1200,1000", "--hide-scrollbars"},
      url);
  ASSERT_EQ(screenshot.exit_code, 0) << screenshot.stderr_text;
  const std::string png = ReadFileOrDie(shot);
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
}

TEST_F(IncidentPageTest, ALinkOpensItsOwnIncidentUntilItExpiresAndNothingMore) {
  for (const char* fingerprint : {"00000000000000f1", "00000000000000f2"}) {
    ASSERT_EQ(
        fleet_
            ->Post(testing::AlertmanagerNotification(
                       "firing", absl::StrCat("Alert", fingerprint + 14),
                       absl::StrCat("web-", fingerprint + 15), fingerprint,
                       Rfc3339(absl::Now() - absl::Minutes(1))),
                   fleet_->token)
            .status,
        200);
  }
  const int64_t in_an_hour = absl::ToUnixSeconds(absl::Now()) + 3600;
  const std::string inc1 = "/incidents/INC-1?t=" + Token("INC-1", in_an_hour);
  Answer opened = Get(inc1);
  ASSERT_EQ(opened.status, 200) << opened.body;
  EXPECT_THAT(opened.body, HasSubstr("INC-1: Alertf1"));

  // Another incident, a stretched expiry, a past one, none at all.
  Answer other = Get("/incidents/INC-2?t=" + Token("INC-1", in_an_hour));
  EXPECT_EQ(other.status, 403);
  EXPECT_THAT(other.body, HasSubstr("not for this page"));
  EXPECT_THAT(other.body, Not(HasSubstr("Alertf2")));
  const std::string stretched = absl::StrReplaceAll(
      inc1, {{absl::StrCat(in_an_hour), absl::StrCat(in_an_hour + 86400)}});
  EXPECT_EQ(Get(stretched).status, 403);
  const int64_t past = absl::ToUnixSeconds(absl::Now()) - 60;
  Answer expired = Get("/incidents/INC-1?t=" + Token("INC-1", past));
  EXPECT_EQ(expired.status, 403);
  EXPECT_THAT(expired.body, HasSubstr("expired at"));
  EXPECT_EQ(Get("/incidents/INC-1").status, 403);
  EXPECT_EQ(
      Get("/incidents/INC-1?t=" + Token("INC-1", in_an_hour).substr(1)).status,
      403);
  // Read-only: nothing but GET; nothing else is served.
  EXPECT_EQ(Get(inc1, "POST").status, 405);
  EXPECT_EQ(Get("/v1/alerts").status, 404);
  // The list's link lists both, each with a link of its own.
  ProgramResult listed =
      fleet_->alice->Run({"incidents", "--link", "--for", "1h"});
  ASSERT_EQ(listed.exit_code, 0) << listed.stderr_text;
  const std::string list_url =
      listed.stdout_text.substr(0, listed.stdout_text.find('\n'));
  Answer list = Get(list_url.substr(list_url.find("/incidents")));
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_THAT(list.body, HasSubstr("href=\"/incidents/INC-2?t="));
  EXPECT_THAT(list.body, HasSubstr("href=\"/incidents/INC-1?t="));
  // The list's token opens no incident.
  const std::string list_token = list_url.substr(list_url.find("?t="));
  EXPECT_EQ(Get("/incidents/INC-1" + list_token).status, 403);
}

}  // namespace
}  // namespace opsagent
