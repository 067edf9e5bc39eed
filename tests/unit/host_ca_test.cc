#include "controller/enroll/host_ca.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/signing/evp_key.h"
#include "common/tls/certificate_info.h"
#include "common/tls/certificate_request.h"
#include "common/tls/chain_verifier.h"
#include "common/tls/host_certificate.h"
#include "common/tls/openssl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The extensions of the certificates below, as openssl.cnf writes them.
constexpr char kRootCa[] = "critical,CA:TRUE";
constexpr char kCaUsage[] = "critical,keyCertSign,cRLSign";
constexpr char kHostCaConstraints[] =
    "critical,permitted;DNS:.fleet.example,permitted;DNS:fleet.example,"
    "excluded;IP:0.0.0.0/0.0.0.0,excluded;IP:::/::";

template <typename Write>
std::string Pem(Write write) {
  UniqueBio bio(BIO_new(BIO_s_mem()));
  write(bio.get());
  BUF_MEM* buffer = nullptr;
  BIO_get_mem_ptr(bio.get(), &buffer);
  return std::string(buffer->data, buffer->length);
}

std::string CertificatePem(X509* cert) {
  return Pem([&](BIO* bio) { PEM_write_bio_X509(bio, cert); });
}

std::string KeyPem(EVP_PKEY* key) {
  return Pem([&](BIO* bio) {
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
}

void WriteFile(const std::string& path, const std::string& content,
               mode_t mode) {
  unlink(path.c_str());
  std::ofstream(path) << content;
  chmod(path.c_str(), mode);
}

UniqueX509 ReadCertificate(const std::string& pem) {
  UniqueBio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return UniqueX509(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

// A certificate and its key, made here with OpenSSL's API.
struct Issued {
  UniqueX509 cert;
  UniqueEvpKey key;
  std::string pem() const { return CertificatePem(cert.get()); }
};

struct Spec {
  std::vector<std::pair<std::string, std::string>> subject;  // field, value
  std::vector<std::pair<int, std::string>> extensions;       // nid, conf
  absl::Duration not_after_from_now = absl::Hours(24 * 30);
};

// Signed by `issuer`, or self-signed when it is null.
Issued Make(const Spec& spec, const Issued* issuer) {
  Issued out{UniqueX509(X509_new()), UniqueEvpKey(EVP_EC_gen("P-256"))};
  X509* cert = out.cert.get();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), std::rand() + 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert),
                  absl::ToInt64Seconds(spec.not_after_from_now));
  for (const auto& [field, value] : spec.subject) {
    X509_NAME_add_entry_by_txt(
        X509_get_subject_name(cert), field.c_str(), MBSTRING_UTF8,
        reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  }
  X509* signer = issuer ? issuer->cert.get() : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(signer));
  X509_set_pubkey(cert, out.key.get());
  for (const auto& [nid, value] : spec.extensions) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, signer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* extension =
        X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    EXPECT_NE(extension, nullptr) << value;
    X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
  }
  X509_sign(cert, issuer ? issuer->key.get() : out.key.get(), EVP_sha256());
  return out;
}

Spec HostCaSpec() {
  return {{{"O", "opsagent"},
           {"OU", "host-ca"},
           {"CN", "opsagent host CA for fleet.example"}},
          {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
           {NID_key_usage, kCaUsage},
           {NID_ext_key_usage, "serverAuth,clientAuth"},
           {NID_name_constraints, kHostCaConstraints},
           {NID_subject_key_identifier, "hash"},
           {NID_authority_key_identifier, "keyid"}}};
}

// A CSR for `key`, signed by `signer` (the key itself for a sound one).
std::string RequestPem(EVP_PKEY* key, EVP_PKEY* signer) {
  UniqueRequest request(X509_REQ_new());
  X509_NAME_add_entry_by_txt(
      X509_REQ_get_subject_name(request.get()), "CN", MBSTRING_UTF8,
      reinterpret_cast<const unsigned char*>("x"), -1, -1, 0);
  X509_REQ_set_pubkey(request.get(), key);
  const bool digestless = EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED25519;
  EXPECT_GT(
      X509_REQ_sign(request.get(), signer, digestless ? nullptr : EVP_sha256()),
      0);
  return Pem([&](BIO* bio) { PEM_write_bio_X509_REQ(bio, request.get()); });
}

// The root's (empty) CRL: with crls_required every CA on a chain needs one.
std::string RootCrlPem(const Issued& root) {
  UniqueCrl crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(root.cert.get()));
  ASN1_TIME* last = X509_gmtime_adj(nullptr, -60);
  ASN1_TIME* next = X509_gmtime_adj(nullptr, 3600);
  X509_CRL_set1_lastUpdate(crl.get(), last);
  X509_CRL_set1_nextUpdate(crl.get(), next);
  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  X509_CRL_sign(crl.get(), root.key.get(), EVP_sha256());
  return Pem([&](BIO* bio) { PEM_write_bio_X509_CRL(bio, crl.get()); });
}

// A team root CA and, under it, the host CA for fleet.example, on disk as
// make-dev-pki.sh writes them (certificates 0644, keys 0600).
class HostCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/pki-XXXXXX");
    ASSERT_NE(mkdtemp(directory_.data()), nullptr);
    root_ = Make({{{"O", "opsagent test"}, {"CN", "test root CA"}},
                  {{NID_basic_constraints, kRootCa},
                   {NID_key_usage, kCaUsage},
                   {NID_subject_key_identifier, "hash"}}},
                 nullptr);
    host_ca_ = Make(HostCaSpec(), &root_);
    WriteFile(Path("host-ca.crt"), host_ca_.pem(), 0644);
    WriteFile(Path("host-ca.key"), KeyPem(host_ca_.key.get()), 0600);
  }

  std::string Path(const std::string& name) const {
    return absl::StrCat(directory_, "/", name);
  }

  // Writes `ca` as NAME.crt and NAME.key and loads it.
  absl::StatusOr<std::unique_ptr<HostCa>> Load(const std::string& name,
                                               const Issued& ca) {
    WriteFile(Path(name + ".crt"), ca.pem(), 0644);
    WriteFile(Path(name + ".key"), KeyPem(ca.key.get()), 0600);
    return HostCa::Load(Path(name + ".crt"), Path(name + ".key"));
  }

  std::unique_ptr<HostCa> LoadHostCa() {
    absl::StatusOr<std::unique_ptr<HostCa>> ca =
        HostCa::Load(Path("host-ca.crt"), Path("host-ca.key"));
    EXPECT_TRUE(ca.ok()) << ca.status();
    return ca.ok() ? *std::move(ca) : nullptr;
  }

  // What an agent would present: a certificate for a fresh key of `host`.
  IssuedCertificate IssueFor(const HostCa& ca, const std::string& host,
                             std::vector<std::string> roles = {"web"}) {
    absl::StatusOr<KeyAndRequest> request = MakeHostKeyAndRequest(host);
    EXPECT_TRUE(request.ok()) << request.status();
    absl::StatusOr<IssuedCertificate> issued = ca.Issue(
        request->request_pem, {host, std::move(roles), absl::Hours(24 * 7)});
    EXPECT_TRUE(issued.ok()) << issued.status();
    return issued.ok() ? *std::move(issued) : IssuedCertificate{};
  }

  std::unique_ptr<ChainVerifier> Verifier(
      const std::string& bundle,
      const std::vector<std::pair<std::string, std::string>>& crls = {}) {
    std::vector<std::string> problems;
    absl::StatusOr<std::unique_ptr<ChainVerifier>> verifier =
        ChainVerifier::Build(bundle, crls, !crls.empty(), &problems);
    EXPECT_TRUE(verifier.ok()) << verifier.status();
    EXPECT_THAT(problems, ElementsAre());
    return verifier.ok() ? *std::move(verifier) : nullptr;
  }

  std::string directory_;
  Issued root_;
  Issued host_ca_;
};

TEST_F(HostCaTest, LoadsAHostCaAndReadsItsDomains) {
  std::unique_ptr<HostCa> ca = LoadHostCa();
  ASSERT_NE(ca, nullptr);
  EXPECT_THAT(ca->permitted_domains(),
              ElementsAre(".fleet.example", "fleet.example"));
  EXPECT_EQ(ca->certificate_pem(), host_ca_.pem());
  EXPECT_LT(
      absl::AbsDuration(ca->not_after() - (absl::Now() + absl::Hours(24 * 30))),
      absl::Minutes(1));
}

TEST_F(HostCaTest, LoadRefusesACertificateThatIsNotACa) {
  Issued host = Make({{{"CN", "web-1.fleet.example"}},
                      {{NID_basic_constraints, "CA:FALSE"},
                       {NID_key_usage, "critical,digitalSignature"}}},
                     &root_);
  absl::StatusOr<std::unique_ptr<HostCa>> ca = Load("not-a-ca", host);
  ASSERT_FALSE(ca.ok());
  EXPECT_THAT(ca.status().message(), HasSubstr(Path("not-a-ca.crt")));
  EXPECT_THAT(ca.status().message(),
              HasSubstr("is not a CA certificate (basicConstraints CA:TRUE)"));
}

TEST_F(HostCaTest, LoadRefusesACaWithoutNameConstraints) {
  Spec spec = HostCaSpec();
  spec.extensions.erase(spec.extensions.begin() + 3);  // nameConstraints
  absl::StatusOr<std::unique_ptr<HostCa>> ca =
      Load("unconstrained", Make(spec, &root_));
  ASSERT_FALSE(ca.ok());
  EXPECT_THAT(ca.status().message(), HasSubstr(Path("unconstrained.crt")));
  EXPECT_THAT(ca.status().message(), HasSubstr("has no nameConstraints"));
}

TEST_F(HostCaTest, LoadRefusesNameConstraintsWithoutAPermittedDnsDomain) {
  Spec spec = HostCaSpec();
  spec.extensions[3].second = "critical,excluded;DNS:.evil.example";
  absl::StatusOr<std::unique_ptr<HostCa>> ca =
      Load("excluded-only", Make(spec, &root_));
  ASSERT_FALSE(ca.ok());
  EXPECT_THAT(ca.status().message(), HasSubstr("has no nameConstraints"));
}

TEST_F(HostCaTest, LoadRefusesACaThatCouldMakeFurtherCas) {
  Spec spec = HostCaSpec();
  spec.extensions[0].second = "critical,CA:TRUE";
  absl::StatusOr<std::unique_ptr<HostCa>> ca =
      Load("no-pathlen", Make(spec, &root_));
  ASSERT_FALSE(ca.ok());
  EXPECT_THAT(ca.status().message(), HasSubstr("no pathLenConstraint 0"));
}

TEST_F(HostCaTest, LoadRefusesACaWithoutCrlSign) {
  Spec spec = HostCaSpec();
  spec.extensions[1].second = "critical,keyCertSign";
  absl::StatusOr<std::unique_ptr<HostCa>> ca =
      Load("no-crl-sign", Make(spec, &root_));
  ASSERT_FALSE(ca.ok());
  EXPECT_THAT(ca.status().message(),
              HasSubstr("lacks keyUsage keyCertSign and cRLSign"));
}

TEST_F(HostCaTest, LoadRefusesAnExpiredCa) {
  Spec spec = HostCaSpec();
  spec.not_after_from_now = -absl::Minutes(1);
  absl::StatusOr<std::unique_ptr<HostCa>> ca =
      Load("expired", Make(spec, &root_));
  ASSERT_FALSE(ca.ok());
  EXPECT_THAT(ca.status().message(), HasSubstr(Path("expired.crt")));
  EXPECT_THAT(ca.status().message(), HasSubstr("expired at"));
}

TEST_F(HostCaTest, LoadRefusesAKeyThatIsNotTheCertificates) {
  WriteFile(Path("other.key"), KeyPem(root_.key.get()), 0600);
  absl::StatusOr<std::unique_ptr<HostCa>> ca =
      HostCa::Load(Path("host-ca.crt"), Path("other.key"));
  ASSERT_FALSE(ca.ok());
  EXPECT_THAT(ca.status().message(),
              HasSubstr(absl::StrCat(Path("other.key"), " is not the key of ",
                                     Path("host-ca.crt"))));
}

TEST_F(HostCaTest, LoadRefusesAKeyOthersCanRead) {
  chmod(Path("host-ca.key").c_str(), 0644);
  absl::StatusOr<std::unique_ptr<HostCa>> ca =
      HostCa::Load(Path("host-ca.crt"), Path("host-ca.key"));
  ASSERT_FALSE(ca.ok());
  EXPECT_THAT(ca.status().message(), HasSubstr(Path("host-ca.key")));
}

TEST_F(HostCaTest, IssuesAHostCertificateBothSidesOfTheLinkAccept) {
  std::unique_ptr<HostCa> ca = LoadHostCa();
  ASSERT_NE(ca, nullptr);
  absl::StatusOr<KeyAndRequest> request =
      MakeHostKeyAndRequest("someone-else.fleet.example");
  ASSERT_TRUE(request.ok()) << request.status();
  // The request names another host: only its key is used.
  absl::StatusOr<IssuedCertificate> issued = ca->Issue(
      request->request_pem,
      {"web-1.fleet.example", {"xqwatcher", "web"}, absl::Hours(168)});
  ASSERT_TRUE(issued.ok()) << issued.status();

  const absl::Time now = absl::Now();
  EXPECT_LT(absl::AbsDuration(issued->not_after - (now + absl::Hours(168))),
            absl::Seconds(10));
  EXPECT_LT(absl::AbsDuration(issued->not_before - (now - absl::Minutes(5))),
            absl::Seconds(10));
  EXPECT_EQ(issued->chain_pem,
            absl::StrCat(issued->certificate_pem, ca->certificate_pem()));

  absl::StatusOr<CertificateInfo> info =
      ParseCertificatePem(issued->certificate_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->common_name, "web-1.fleet.example");
  EXPECT_THAT(info->organizational_units, ElementsAre("xqwatcher", "web"));
  EXPECT_THAT(info->dns_names, ElementsAre("web-1.fleet.example"));
  EXPECT_THAT(info->ip_addresses, ElementsAre());
  EXPECT_TRUE(info->server_auth);
  EXPECT_TRUE(info->client_auth);
  EXPECT_EQ(info->not_after, issued->not_after);
  EXPECT_EQ(info->not_before, issued->not_before);
  EXPECT_TRUE(CheckHostCertificate(*info, "web-1.fleet.example").ok());

  UniqueX509 leaf = ReadCertificate(issued->certificate_pem);
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ(X509_get_version(leaf.get()), 2);
  EXPECT_EQ(X509_get_key_usage(leaf.get()), KU_DIGITAL_SIGNATURE);
  EXPECT_EQ(X509_get_extension_flags(leaf.get()) & EXFLAG_CA, 0u);
  EXPECT_NE(X509_get0_subject_key_id(leaf.get()), nullptr);
  EXPECT_NE(X509_get0_authority_key_id(leaf.get()), nullptr);
  EXPECT_EQ(X509_get_signature_nid(leaf.get()), NID_ecdsa_with_SHA256);
  BIGNUM* serial =
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf.get()), nullptr);
  EXPECT_EQ(SerialHex(serial), issued->serial_hex);
  EXPECT_EQ(ParseCertificatePem(issued->certificate_pem)->serial_hex,
            issued->serial_hex);
  EXPECT_EQ(issued->serial_hex, absl::AsciiStrToLower(issued->serial_hex));
  EXPECT_NE(issued->serial_hex[0], '0');
  EXPECT_GT(BN_num_bits(serial), 64);
  EXPECT_FALSE(BN_is_negative(serial));
  BN_free(serial);

  // Trusting root and host CA, or the root alone with the chain sent.
  for (const std::string& bundle :
       {absl::StrCat(root_.pem(), host_ca_.pem()), root_.pem()}) {
    std::unique_ptr<ChainVerifier> verifier = Verifier(bundle);
    ASSERT_NE(verifier, nullptr);
    for (ChainVerifier::Purpose purpose :
         {ChainVerifier::Purpose::kClient, ChainVerifier::Purpose::kServer}) {
      EXPECT_TRUE(
          verifier->Verify(issued->certificate_pem, issued->chain_pem, purpose)
              .ok());
    }
  }
}

TEST_F(HostCaTest, IssuesForTheDomainItselfAndCapsTheLifetimeAtTheCas) {
  std::unique_ptr<HostCa> ca = LoadHostCa();
  ASSERT_NE(ca, nullptr);
  absl::StatusOr<KeyAndRequest> request =
      MakeHostKeyAndRequest("fleet.example");
  ASSERT_TRUE(request.ok());
  absl::StatusOr<IssuedCertificate> issued = ca->Issue(
      request->request_pem, {"fleet.example", {}, absl::Hours(24 * 365)});
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(issued->not_after, ca->not_after());
  EXPECT_TRUE(Verifier(root_.pem())
                  ->Verify(issued->certificate_pem, issued->chain_pem)
                  .ok());
}

TEST_F(HostCaTest, IssuesToAnRsa2048KeyWithKeyEncipherment) {
  std::unique_ptr<HostCa> ca = LoadHostCa();
  ASSERT_NE(ca, nullptr);
  UniqueEvpKey key(EVP_RSA_gen(2048));
  absl::StatusOr<IssuedCertificate> issued =
      ca->Issue(RequestPem(key.get(), key.get()),
                {"db-1.fleet.example", {}, absl::Hours(1)});
  ASSERT_TRUE(issued.ok()) << issued.status();
  UniqueX509 leaf = ReadCertificate(issued->certificate_pem);
  EXPECT_EQ(X509_get_key_usage(leaf.get()),
            static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
}

TEST_F(HostCaTest, IssueRefusesARequestSignedByAnotherKey) {
  std::unique_ptr<HostCa> ca = LoadHostCa();
  ASSERT_NE(ca, nullptr);
  UniqueEvpKey victim(EVP_EC_gen("P-256"));
  UniqueEvpKey attacker(EVP_EC_gen("P-256"));
  absl::StatusOr<IssuedCertificate> issued =
      ca->Issue(RequestPem(victim.get(), attacker.get()),
                {"web-1.fleet.example", {}, absl::Hours(1)});
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(issued.status().message(),
              HasSubstr("signature does not verify with its own key"));
}

TEST_F(HostCaTest, IssueRefusesWhatIsNotARequest) {
  std::unique_ptr<HostCa> ca = LoadHostCa();
  ASSERT_NE(ca, nullptr);
  absl::StatusOr<IssuedCertificate> issued =
      ca->Issue(host_ca_.pem(), {"web-1.fleet.example", {}, absl::Hours(1)});
  ASSERT_FALSE(issued.ok());
  EXPECT_THAT(issued.status().message(),
              HasSubstr("not a PEM certificate signing request"));
}

TEST_F(HostCaTest, IssueRefusesAHostOutsideTheDomain) {
  std::unique_ptr<HostCa> ca = LoadHostCa();
  ASSERT_NE(ca, nullptr);
  absl::StatusOr<KeyAndRequest> request = MakeHostKeyAndRequest("a.example");
  ASSERT_TRUE(request.ok());
  for (const char* host :
       {"web-1.other.example", "evilfleet.example", "fleet.example.evil.io"}) {
    absl::StatusOr<IssuedCertificate> issued =
        ca->Issue(request->request_pem, {host, {}, absl::Hours(1)});
    ASSERT_FALSE(issued.ok()) << host;
    EXPECT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(issued.status().message(),
                HasSubstr("outside the domain(s) this host CA may issue for "
                          "(.fleet.example, fleet.example)"));
  }
}

TEST_F(HostCaTest, IssueRefusesBadNamesRolesAndLifetimes) {
  std::unique_ptr<HostCa> ca = LoadHostCa();
  ASSERT_NE(ca, nullptr);
  absl::StatusOr<KeyAndRequest> request = MakeHostKeyAndRequest("a.example");
  ASSERT_TRUE(request.ok());
  const std::string long_host =
      absl::StrCat(std::string(60, 'a'), ".fleet.example");
  const HostCertificateTemplate refused[] = {
      {"*.fleet.example", {}, absl::Hours(1)},
      {"web-1.fleet.example,DNS:x.fleet.example", {}, absl::Hours(1)},
      {"WEB-1.fleet.example", {}, absl::Hours(1)},
      {"web-1.fleet.example", {"controller"}, absl::Hours(1)},
      {"web-1.fleet.example", {"web", "Controller"}, absl::Hours(1)},
      {"web-1.fleet.example", {"web\nCN=admin"}, absl::Hours(1)},
      {"web-1.fleet.example", {std::string(65, 'r')}, absl::Hours(1)},
      {"web-1.fleet.example", {""}, absl::Hours(1)},
      {"web-1.fleet.example", {}, absl::ZeroDuration()},
  };
  for (const HostCertificateTemplate& tmpl : refused) {
    absl::StatusOr<IssuedCertificate> issued =
        ca->Issue(request->request_pem, tmpl);
    EXPECT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument)
        << tmpl.host << " " << issued.status();
  }
  // A DNS name longer than a CN holds is certified by its SAN alone.
  absl::StatusOr<IssuedCertificate> long_name =
      ca->Issue(request->request_pem, {long_host, {"web"}, absl::Hours(1)});
  ASSERT_TRUE(long_name.ok()) << long_name.status();
  absl::StatusOr<CertificateInfo> info =
      ParseCertificatePem(long_name->certificate_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->common_name, "");
  EXPECT_THAT(info->dns_names, ::testing::ElementsAre(long_host));
}

TEST_F(HostCaTest, IssueRefusesEd25519AndShortRsaKeys) {
  std::unique_ptr<HostCa> ca = LoadHostCa();
  ASSERT_NE(ca, nullptr);
  UniqueEvpKey ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  UniqueEvpKey rsa1024(EVP_RSA_gen(1024));
  UniqueEvpKey p521(EVP_EC_gen("P-521"));
  const std::pair<EVP_PKEY*, const char*> refused[] = {
      {ed25519.get(), "the request's key is ED25519"},
      {rsa1024.get(), "the request's key is RSA of 1024 bits"},
      {p521.get(), "the request's key is EC on curve secp521r1"},
  };
  for (const auto& [key, why] : refused) {
    absl::StatusOr<IssuedCertificate> issued = ca->Issue(
        RequestPem(key, key), {"web-1.fleet.example", {}, absl::Hours(1)});
    ASSERT_FALSE(issued.ok()) << why;
    EXPECT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(issued.status().message(), HasSubstr(why));
  }
}

TEST_F(HostCaTest, IssueRefusesACurveSpelledOutInsteadOfNamed) {
  std::unique_ptr<HostCa> ca = LoadHostCa();
  ASSERT_NE(ca, nullptr);
  UniqueEvpKey key(EVP_EC_gen("P-256"));
  ASSERT_EQ(
      EVP_PKEY_set_utf8_string_param(key.get(), OSSL_PKEY_PARAM_EC_ENCODING,
                                     OSSL_PKEY_EC_ENCODING_EXPLICIT),
      1);
  absl::StatusOr<IssuedCertificate> issued =
      ca->Issue(RequestPem(key.get(), key.get()),
                {"web-1.fleet.example", {"web"}, absl::Hours(1)});
  ASSERT_FALSE(issued.ok());
  EXPECT_THAT(issued.status().message(), HasSubstr("names its curve"));
}

TEST_F(HostCaTest, ItsCrlRevokesOneHostAndNotAnother) {
  std::unique_ptr<HostCa> ca = LoadHostCa();
  ASSERT_NE(ca, nullptr);
  const IssuedCertificate revoked = IssueFor(*ca, "web-1.fleet.example");
  const IssuedCertificate kept = IssueFor(*ca, "web-2.fleet.example");
  const absl::Time now = absl::Now();
  absl::StatusOr<std::string> crl =
      ca->MakeCrl({{revoked.serial_hex, now - absl::Minutes(1)}}, 7,
                  now - absl::Minutes(1), now + absl::Hours(1));
  ASSERT_TRUE(crl.ok()) << crl.status();

  UniqueBio bio(BIO_new_mem_buf(crl->data(), static_cast<int>(crl->size())));
  UniqueCrl parsed(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(X509_CRL_get_version(parsed.get()), 1);  // v2
  auto* number = static_cast<ASN1_INTEGER*>(
      X509_CRL_get_ext_d2i(parsed.get(), NID_crl_number, nullptr, nullptr));
  ASSERT_NE(number, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(number), 7);
  ASN1_INTEGER_free(number);
  EXPECT_GE(
      X509_CRL_get_ext_by_NID(parsed.get(), NID_authority_key_identifier, -1),
      0);

  std::unique_ptr<ChainVerifier> verifier =
      Verifier(absl::StrCat(root_.pem(), host_ca_.pem()),
               {{"host-ca.crl", *crl}, {"root.crl", RootCrlPem(root_)}});
  ASSERT_NE(verifier, nullptr);
  absl::Status status =
      verifier->Verify(revoked.certificate_pem, revoked.chain_pem);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("is revoked"));
  EXPECT_TRUE(verifier->Verify(kept.certificate_pem, kept.chain_pem).ok());
}

TEST_F(HostCaTest, MakeCrlRefusesWhatIsNotASerialOrAnInvertedPeriod) {
  std::unique_ptr<HostCa> ca = LoadHostCa();
  ASSERT_NE(ca, nullptr);
  const absl::Time now = absl::Now();
  EXPECT_EQ(ca->MakeCrl({{"12zz", now}}, 1, now, now + absl::Hours(1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ca->MakeCrl({}, 1, now, now - absl::Hours(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The issue's point 5: a stolen controller (host CA) key cannot make an
// operator that agents accept, even one whose CN and SAN-less subject slip
// past the name constraints.
TEST_F(HostCaTest, AnOperatorCertificateFromTheHostCaIsRefused) {
  Issued mallory =
      Make({{{"O", "opsagent"}, {"OU", "admin"}, {"CN", "mallory"}},
            {{NID_basic_constraints, "CA:FALSE"},
             {NID_key_usage, "critical,digitalSignature"},
             {NID_ext_key_usage, "clientAuth"}}},
           &host_ca_);
  const std::string chain = absl::StrCat(mallory.pem(), host_ca_.pem());
  for (const std::string& bundle :
       {absl::StrCat(root_.pem(), host_ca_.pem()), root_.pem()}) {
    std::unique_ptr<ChainVerifier> verifier = Verifier(bundle);
    ASSERT_NE(verifier, nullptr);
    absl::Status status = verifier->Verify(mallory.pem(), chain);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(status.message(),
                HasSubstr("/O=opsagent/OU=admin/CN=mallory was issued through "
                          "/O=opsagent/OU=host-ca/CN=opsagent host CA for "
                          "fleet.example, a host CA (it has name constraints), "
                          "which cannot issue operator certificates"));
  }
}

TEST_F(HostCaTest, AnOperatorCertificateFromTheRootIsAccepted) {
  Issued alice = Make({{{"O", "opsagent"}, {"OU", "admin"}, {"CN", "alice"}},
                       {{NID_basic_constraints, "CA:FALSE"},
                        {NID_key_usage, "critical,digitalSignature"},
                        {NID_ext_key_usage, "clientAuth"}},
                       absl::Hours(12)},
                      &root_);
  std::unique_ptr<ChainVerifier> verifier =
      Verifier(absl::StrCat(root_.pem(), host_ca_.pem()));
  ASSERT_NE(verifier, nullptr);
  absl::Status status = verifier->Verify(alice.pem(), alice.pem());
  EXPECT_TRUE(status.ok()) << status;
}

}  // namespace
}  // namespace opsagent
