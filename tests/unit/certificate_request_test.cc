#include "common/tls/certificate_request.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/strings/match.h"
#include "common/signing/evp_key.h"
#include "common/tls/openssl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

UniqueBio MemoryBio(const std::string& text) {
  return UniqueBio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::vector<std::string> RequestedDnsNames(X509_REQ* request) {
  std::vector<std::string> names;
  STACK_OF(X509_EXTENSION)* extensions = X509_REQ_get_extensions(request);
  auto* sans = static_cast<GENERAL_NAMES*>(
      X509V3_get_d2i(extensions, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
    if (name->type != GEN_DNS) {
      names.push_back("(not DNS)");
      continue;
    }
    names.emplace_back(reinterpret_cast<const char*>(name->d.dNSName->data),
                       name->d.dNSName->length);
  }
  GENERAL_NAMES_free(sans);
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  return names;
}

TEST(MakeHostKeyAndRequestTest, MakesAP256KeyAndARequestItSignedForTheHost) {
  absl::StatusOr<KeyAndRequest> made =
      MakeHostKeyAndRequest("web-1.fleet.example");
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_THAT(made->private_key_pem, StartsWith("-----BEGIN PRIVATE KEY-----"));

  UniqueEvpKey key(PEM_read_bio_PrivateKey(
      MemoryBio(made->private_key_pem).get(), nullptr, nullptr, nullptr));
  ASSERT_NE(key, nullptr);
  ASSERT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
  char group[64] = "";
  EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group,
                                 sizeof(group), nullptr);
  EXPECT_STREQ(group, "prime256v1");

  UniqueRequest request(PEM_read_bio_X509_REQ(
      MemoryBio(made->request_pem).get(), nullptr, nullptr, nullptr));
  ASSERT_NE(request, nullptr);
  EVP_PKEY* requested = X509_REQ_get0_pubkey(request.get());
  EXPECT_EQ(X509_REQ_verify(request.get(), requested), 1);
  EXPECT_EQ(EVP_PKEY_eq(requested, key.get()), 1)
      << "the request is for another key than the one returned";
  char common_name[256] = "";
  X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(request.get()),
                            NID_commonName, common_name, sizeof(common_name));
  EXPECT_STREQ(common_name, "web-1.fleet.example");
  EXPECT_THAT(RequestedDnsNames(request.get()),
              ElementsAre("web-1.fleet.example"));
}

TEST(MakeHostKeyAndRequestTest, MakesAFreshKeyEachTime) {
  absl::StatusOr<KeyAndRequest> first = MakeHostKeyAndRequest("a.example");
  absl::StatusOr<KeyAndRequest> second = MakeHostKeyAndRequest("a.example");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->private_key_pem, second->private_key_pem);
}

TEST(MakeHostKeyAndRequestTest, RefusesWhatIsNotAHostName) {
  for (const char* bad :
       {"", "a..example", "host name.example", "-web.example",
        "*.fleet.example", "web.example,DNS:evil.example", "web\n.example"}) {
    absl::StatusOr<KeyAndRequest> made = MakeHostKeyAndRequest(bad);
    ASSERT_FALSE(made.ok()) << bad;
    EXPECT_EQ(made.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(made.status().message(), HasSubstr("is not a DNS host name"));
  }
}

}  // namespace
}  // namespace opsagent
