#include "common/http/https_client.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace opsagent {
namespace {

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct EasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct ListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// What one part of a parsed URL holds, "" when it has none.
std::string UrlPart(CURLU* url, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, 0) != CURLUE_OK || value == nullptr)
    return "";
  std::string text(value);
  curl_free(value);
  return text;
}

struct ReplyBuffer {
  std::string body;
  size_t max_bytes = 0;
  bool too_long = false;
};

size_t KeepReply(char* data, size_t size, size_t count, void* buffer_ptr) {
  auto* buffer = static_cast<ReplyBuffer*>(buffer_ptr);
  const size_t bytes = size * count;
  if (buffer->body.size() + bytes > buffer->max_bytes) {
    buffer->too_long = true;
    return 0;  // ends the transfer
  }
  buffer->body.append(data, bytes);
  return bytes;
}

// "https://hooks.slack.example:443/...": where a request went, for errors
// and logs, without its path, which may be the secret (a Slack webhook's).
std::string UrlOrigin(absl::string_view url) {
  std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
  if (parsed == nullptr ||
      curl_url_set(parsed.get(), CURLUPART_URL, std::string(url).c_str(), 0) !=
          CURLUE_OK)
    return "(an invalid URL)";
  const std::string port = UrlPart(parsed.get(), CURLUPART_PORT);
  return absl::StrCat(UrlPart(parsed.get(), CURLUPART_SCHEME), "://",
                      UrlPart(parsed.get(), CURLUPART_HOST),
                      port.empty() ? "" : ":", port, "/...");
}

}  // namespace

absl::Status CheckOutgoingUrl(absl::string_view url) {
  InitCurlOnce();
  const auto refuse = [](absl::string_view why) {
    // Not the URL itself: a webhook's is its secret.
    return absl::InvalidArgumentError(absl::StrCat("the URL ", why));
  };
  for (unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7f)
      return refuse("holds a space, a control or a non-ASCII character");
  }
  std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
  if (parsed == nullptr) return absl::ResourceExhaustedError("out of memory");
  if (curl_url_set(parsed.get(), CURLUPART_URL, std::string(url).c_str(), 0) !=
      CURLUE_OK)
    return refuse("not an absolute URL");
  const std::string scheme =
      absl::AsciiStrToLower(UrlPart(parsed.get(), CURLUPART_SCHEME));
  const std::string host =
      absl::AsciiStrToLower(UrlPart(parsed.get(), CURLUPART_HOST));
  if (host.empty()) return refuse("names no host");
  if (!UrlPart(parsed.get(), CURLUPART_USER).empty())
    return refuse("holds a user name; put credentials in a file of their own");
  if (scheme == "https") return absl::OkStatus();
  if (scheme == "http" &&
      (host == "127.0.0.1" || host == "[::1]" || host == "localhost"))
    return absl::OkStatus();
  return refuse(
      "must be https:// (plain http:// only to 127.0.0.1, [::1] or "
      "localhost)");
}

absl::StatusOr<OutgoingReply> SendHttpsRequest(
    const OutgoingRequest& request, const HttpsClientOptions& options) {
  if (absl::Status url = CheckOutgoingUrl(request.url); !url.ok()) return url;
  std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
  if (curl == nullptr) return absl::ResourceExhaustedError("out of memory");
  CURL* const handle = curl.get();
  ReplyBuffer reply_buffer;
  reply_buffer.max_bytes = options.max_reply_bytes;
  char error[CURL_ERROR_SIZE] = {0};
  std::unique_ptr<curl_slist, ListDeleter> headers;
  const auto add_header = [&headers](const std::string& header) {
    headers.reset(curl_slist_append(headers.release(), header.c_str()));
  };
  add_header("Accept: application/json");
  if (!request.body.empty()) add_header("Content-Type: application/json");
  if (!request.bearer_token.empty())
    add_header(absl::StrCat("Authorization: Bearer ", request.bearer_token));
  add_header("Expect:");  // no 100-continue round trip
  const long timeout_ms =
      static_cast<long>(absl::ToInt64Milliseconds(options.timeout));
  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_PROXY, "");
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(handle, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  if (!options.ca_file.empty())
    curl_easy_setopt(handle, CURLOPT_CAINFO, options.ca_file.c_str());
  curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (!request.body.empty() || request.method == "POST") {
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(request.body.size()));
  }
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &KeepReply);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &reply_buffer);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
  const CURLcode code = curl_easy_perform(handle);
  const std::string where = UrlOrigin(request.url);
  if (reply_buffer.too_long) {
    return absl::UnavailableError(
        absl::StrCat(request.method, " ", where, ": the answer is over ",
                     options.max_reply_bytes, " bytes"));
  }
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  // A server that answered and then closed without TLS's close_notify (and
  // without a Content-Length) gave its answer: the status stands, and the
  // body is what came.
  if (code != CURLE_OK && !(code == CURLE_RECV_ERROR && status >= 200)) {
    return absl::UnavailableError(
        absl::StrCat(request.method, " ", where, ": ",
                     error[0] != '\0' ? error : curl_easy_strerror(code)));
  }
  OutgoingReply reply;
  reply.status = static_cast<int>(status);
  reply.body = std::move(reply_buffer.body);
  return reply;
}

}  // namespace opsagent
