// How an incident is told outside opsctl: the chat message's escaping of
// alert text, the page's HTML escaping, and the signed page links.

#include <sys/stat.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/chat/chat_message.h"
#include "controller/incident_view.h"
#include "controller/pages/incident_page.h"
#include "controller/pages/page_links.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ChatMessageTest, AlertTextIsQuotedAndNeverAMentionOrALink) {
  EXPECT_EQ(SlackQuoted("<!channel> <@U024BE7LH> <http://evil|click> &amp;"),
            "`&lt;!channel&gt; &lt;@U024BE7LH&gt; &lt;http://evil|click&gt; "
            "&amp;amp;`");
  // A backtick would end the code span; lines would end the quote.
  EXPECT_EQ(SlackQuoted("a`b\nc\td\x01"), "`a'b c d\\x01`");
  EXPECT_EQ(SlackQuoted(""), "` `");
  // What would reorder or hide the text after it shows as an escape.
  EXPECT_EQ(SlackQuoted("ok\u202eevil\u200b\u00ad"),
            "`ok\\u202eevil\\u200b\\u00ad`");
  EXPECT_EQ(SlackQuoted(std::string(400, 'x'), 10),
            absl::StrCat("`", std::string(10, 'x'), "...`"));

  ChatMessageFacts facts;
  facts.event = IncidentEvent::kOpened;
  facts.incident.set_id("INC-7");
  facts.incident.set_alertname("Disk<!here>");
  facts.incident.set_host("web-1");
  facts.incident.set_summary("*bold* <https://evil.example|Grafana>");
  facts.page_url = "https://opsctld.example:7445/incidents/INC-7?t=1.ab";
  const std::string slack = SlackMessage(facts);
  EXPECT_THAT(slack, HasSubstr("*INC-7 opened*: `Disk&lt;!here&gt;` on "
                               "`web-1`"));
  EXPECT_THAT(slack,
              HasSubstr("`*bold* &lt;https://evil.example|Grafana&gt;`"));
  EXPECT_THAT(slack, HasSubstr("<https://opsctld.example:7445/incidents/"
                               "INC-7?t=1.ab|Open INC-7>"));
  EXPECT_THAT(slack, Not(HasSubstr("<!here>")));
  EXPECT_THAT(slack, Not(HasSubstr("<https://evil")));
  EXPECT_THAT(slack, HasSubstr("\"unfurl_links\":false"));
  // The incident tool gets the words as JSON values, unchanged.
  const std::string hook = WebhookMessage(facts);
  EXPECT_THAT(hook, HasSubstr("\"event\":\"opened\""));
  EXPECT_THAT(hook, HasSubstr("\"alertname\":\"Disk<!here>\""));
}

TEST(IncidentPageTest, EveryValueIsEscapedAndOnlyKeptLinksAreLinks) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  v1::Incident incident;
  incident.set_id("INC-3");
  incident.set_alertname("<script>alert(1)</script>");
  incident.set_host("web-1");
  incident.set_status("open");
  v1::IncidentAlert* alert = incident.add_alerts();
  alert->set_labels_json("{\"alertname\":\"<img src=x onerror=alert(1)>\"}");
  alert->set_generator_url("https://prometheus.example/graph?a=1&b=\"2\"");
  // A link that got past the intake some other way is still no link.
  alert->set_dashboard_url("javascript:alert(1)");
  const std::string page =
      RenderIncidentPage(incident, {}, absl::Now(), "/incidents?t=1.ab");
  EXPECT_THAT(page, Not(HasSubstr("<script")));
  EXPECT_THAT(page, Not(HasSubstr("<img")));
  EXPECT_THAT(page, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(page, Not(HasSubstr("href=\"javascript")));
  // Not shown at all: IncidentLinks keeps only links SafeLink keeps,
  // whoever sent the incident.
  EXPECT_THAT(page, Not(HasSubstr("javascript:")));
  EXPECT_THAT(page, Not(HasSubstr("href=\"https://prometheus")));  // has "
  EXPECT_THAT(page, HasSubstr("<link rel=\"stylesheet\" href=\"/page.css\">"));
  incident.set_summary("a\u202eb\u200bc");
  EXPECT_THAT(RenderIncidentPage(incident, {}, absl::Now(), ""),
              HasSubstr("a\\u202eb\\u200bc"));
}

// What opsctl, the page and chat show of an incident's links: only those
// SafeLink keeps, even when a controller sent others (an older one, or one
// that lies), so a Markdown autolink or an href can hold nothing else.
TEST(IncidentViewTest, OnlySafeLinksAreShownWhoeverSentThem) {
  v1::Incident incident;
  v1::IncidentAlert* alert = incident.add_alerts();
  alert->set_generator_url("https://prometheus.example/graph");
  alert->set_dashboard_url(
      "https://grafana.example/d/x> | [evil](javascript:x)");
  alert->set_panel_url("javascript:alert(1)");
  alert->set_silence_url("https://grafana.example/s\nnext line");
  incident.add_alerts()->set_generator_url("https://prometheus.example/graph");
  const std::vector<IncidentLink> links = IncidentLinks(incident);
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].name, "graph");
  EXPECT_EQ(links[0].url, "https://prometheus.example/graph");
}

class PageLinksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = testing::MakeTestDirectory();
    key_ = dir + "/key";
    testing::WriteFileOrDie(key_, std::string(64, 'a'));
    chmod(key_.c_str(), 0600);
    config_.set_link_key_file(key_);
    config_.set_base_url("https://opsctld.example:7445/");
    auto links = PageLinks::Create(config_);
    ASSERT_TRUE(links.ok()) << links.status();
    links_ = *std::move(links);
  }
  std::string key_;
  v1::IncidentPagesConfig config_;
  std::unique_ptr<PageLinks> links_;
};

TEST_F(PageLinksTest, ALinkOpensItsScopeUntilItExpires) {
  const absl::Time now = absl::FromUnixSeconds(1800000000);
  const absl::Time expires = now + absl::Hours(24);
  EXPECT_EQ(links_->Url("INC-7", expires),
            absl::StrCat("https://opsctld.example:7445/incidents/INC-7?t=",
                         links_->Token("INC-7", expires)));
  const std::string token = links_->Token("INC-7", expires);
  absl::StatusOr<absl::Time> checked = links_->Check(token, "INC-7", now);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(*checked, expires);
  for (const auto& [other_token, scope, at] :
       {std::tuple{token, std::string("INC-8"), now},
        {token, std::string(PageLinks::kListScope), now},
        {token, std::string("INC-7"), expires},
        {absl::StrCat(absl::ToUnixSeconds(expires) + 1,
                      token.substr(token.find('.'))),
         std::string("INC-7"), now},
        {std::string("garbage"), std::string("INC-7"), now},
        // Other spellings of the same expiry: only the one Token() makes.
        {"+" + token, std::string("INC-7"), now},
        {"0" + token, std::string("INC-7"), now},
        {" " + token, std::string("INC-7"), now},
        {std::string(""), std::string("INC-7"), now}}) {
    absl::StatusOr<absl::Time> refused = links_->Check(other_token, scope, at);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied)
        << other_token << " " << scope;
  }
  // Another key: none of its links open anything here.
  testing::WriteFileOrDie(key_, std::string(64, 'b'));
  auto other = PageLinks::Create(config_);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE((*other)->Check(token, "INC-7", now).ok());
}

TEST_F(PageLinksTest, AShortOrOpenKeyIsRefused) {
  testing::WriteFileOrDie(key_, "short");
  EXPECT_THAT(PageLinks::Create(config_).status().message(),
              HasSubstr("shorter than 32"));
  testing::WriteFileOrDie(key_, std::string(64, 'a'));
  chmod(key_.c_str(), 0644);
  EXPECT_FALSE(PageLinks::Create(config_).ok());
}

}  // namespace
}  // namespace opsagent
