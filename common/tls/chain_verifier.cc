#include "common/tls/chain_verifier.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace opsagent {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct CrlFree {
  void operator()(X509_CRL* c) const { X509_CRL_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
struct ContextFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using CrlPtr = std::unique_ptr<X509_CRL, CrlFree>;

std::unique_ptr<BIO, BioFree> MemoryBio(absl::string_view text) {
  return std::unique_ptr<BIO, BioFree>(
      BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::vector<X509Ptr> ReadCertificates(absl::string_view pem) {
  std::vector<X509Ptr> out;
  auto bio = MemoryBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    out.emplace_back(cert);
  ERR_clear_error();  // the end of the text reads as an error
  return out;
}

std::vector<CrlPtr> ReadCrls(absl::string_view content) {
  std::vector<CrlPtr> out;
  auto bio = MemoryBio(content);
  while (X509_CRL* crl =
             PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr))
    out.emplace_back(crl);
  ERR_clear_error();
  if (out.empty()) {
    const unsigned char* der =
        reinterpret_cast<const unsigned char*>(content.data());
    if (X509_CRL* crl =
            d2i_X509_CRL(nullptr, &der, static_cast<long>(content.size())))
      out.emplace_back(crl);
    ERR_clear_error();
  }
  return out;
}

std::string NameText(const X509_NAME* name) {
  char buffer[256];
  X509_NAME_oneline(name, buffer, sizeof(buffer));
  return buffer;
}

absl::Time Asn1TimeToAbsl(const ASN1_TIME* time) {
  struct tm parts = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1)
    return absl::InfinitePast();
  return absl::FromTimeT(timegm(&parts));
}

// Only operator-shaped certificates (extendedKeyUsage clientAuth without
// serverAuth) name callers (PeerIdentity). One issued through a CA limited by
// name constraints came from a host CA, whose key the controller holds to
// enroll hosts: it must not make operators. (OpenSSL applies DNS name
// constraints to the SANs, and to a CN only when it looks like a host name,
// so "CN=mallory" with no SAN would pass them.)
absl::Status CheckOperatorIssuer(X509* leaf, X509_STORE_CTX* context) {
  const uint32_t usage = X509_get_extended_key_usage(leaf);
  const bool operator_shaped = usage != UINT32_MAX &&
                               (usage & XKU_SSL_CLIENT) != 0 &&
                               (usage & XKU_SSL_SERVER) == 0;
  if (!operator_shaped) return absl::OkStatus();
  const STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context);
  // The chain starts with the leaf itself; the rest are its CAs.
  for (int i = 1; i < sk_X509_num(chain); ++i) {
    X509* ca = sk_X509_value(chain, i);
    if (X509_get_ext_by_NID(ca, NID_name_constraints, -1) < 0) continue;
    return absl::UnauthenticatedError(absl::StrCat(
        NameText(X509_get_subject_name(leaf)), " was issued through ",
        NameText(X509_get_subject_name(ca)),
        ", a host CA (it has name constraints), which cannot issue operator "
        "certificates"));
  }
  return absl::OkStatus();
}

}  // namespace

struct ChainVerifier::Store {
  X509_STORE* store = X509_STORE_new();
  ~Store() { X509_STORE_free(store); }
};

ChainVerifier::~ChainVerifier() = default;

absl::StatusOr<std::unique_ptr<ChainVerifier>> ChainVerifier::Build(
    absl::string_view ca_bundle_pem,
    const std::vector<std::pair<std::string, std::string>>& crl_files,
    bool crls_required, std::vector<std::string>* problems) {
  std::vector<X509Ptr> cas = ReadCertificates(ca_bundle_pem);
  if (cas.empty())
    return absl::InvalidArgumentError("the CA bundle holds no certificate");
  std::unique_ptr<ChainVerifier> verifier(new ChainVerifier());
  verifier->crls_required_ = crls_required;
  verifier->store_ = std::make_unique<Store>();
  for (const X509Ptr& ca : cas)
    X509_STORE_add_cert(verifier->store_->store, ca.get());

  // The newest CRL each CA has signed, by position in `cas`.
  std::vector<const X509_CRL*> newest(cas.size(), nullptr);
  std::vector<CrlPtr> kept;
  for (const auto& [file, content] : crl_files) {
    std::vector<CrlPtr> crls = ReadCrls(content);
    if (crls.empty()) {
      problems->push_back(absl::StrCat(file, " holds no CRL; ignored"));
      continue;
    }
    for (CrlPtr& crl : crls) {
      size_t issuer = cas.size();
      for (size_t i = 0; i < cas.size(); ++i) {
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()),
                          X509_get_subject_name(cas[i].get())) == 0 &&
            X509_CRL_verify(crl.get(), X509_get0_pubkey(cas[i].get())) == 1) {
          issuer = i;
          break;
        }
      }
      ERR_clear_error();
      if (issuer == cas.size()) {
        problems->push_back(absl::StrCat(
            file, ": a CRL of ", NameText(X509_CRL_get_issuer(crl.get())),
            " that no CA of the bundle signed; ignored"));
        continue;
      }
      if (newest[issuer] == nullptr ||
          ASN1_TIME_compare(X509_CRL_get0_lastUpdate(crl.get()),
                            X509_CRL_get0_lastUpdate(newest[issuer])) > 0) {
        newest[issuer] = crl.get();
      }
      X509_STORE_add_crl(verifier->store_->store, crl.get());
      kept.push_back(std::move(crl));
    }
  }
  const absl::Time now = absl::Now();
  for (size_t i = 0; i < cas.size(); ++i) {
    const std::string name = NameText(X509_get_subject_name(cas[i].get()));
    if (!crls_required) {
      verifier->description_.push_back(
          absl::StrCat("CA ", name, ": revocation not checked"));
      continue;
    }
    const X509_CRL* crl = newest[i];
    if (crl == nullptr) {
      verifier->description_.push_back(absl::StrCat(
          "CA ", name, ": NO CRL, so none of its clients are served"));
      continue;
    }
    const absl::Time next = Asn1TimeToAbsl(X509_CRL_get0_nextUpdate(crl));
    verifier->crls_valid_until_ = std::min(verifier->crls_valid_until_, next);
    const STACK_OF(X509_REVOKED)* revoked =
        X509_CRL_get_REVOKED(const_cast<X509_CRL*>(crl));
    verifier->description_.push_back(absl::StrCat(
        "CA ", name, ": CRL with ", revoked ? sk_X509_REVOKED_num(revoked) : 0,
        " revoked, next update ", absl::FormatTime(next),
        next <= now ? " (EXPIRED, so none of its clients are served)" : ""));
  }
  return verifier;
}

absl::Status ChainVerifier::Verify(absl::string_view leaf_pem,
                                   absl::string_view chain_pem,
                                   Purpose purpose) const {
  return VerifyWithFlags(leaf_pem, chain_pem, purpose, 0);
}

absl::Status ChainVerifier::VerifyIssuance(absl::string_view leaf_pem,
                                           absl::string_view chain_pem,
                                           Purpose purpose) const {
  return VerifyWithFlags(leaf_pem, chain_pem, purpose,
                         X509_V_FLAG_NO_CHECK_TIME);
}

absl::Status ChainVerifier::VerifyWithFlags(absl::string_view leaf_pem,
                                            absl::string_view chain_pem,
                                            Purpose purpose,
                                            unsigned long extra_flags) const {
  std::vector<X509Ptr> leaf = ReadCertificates(leaf_pem);
  if (leaf.empty())
    return absl::UnauthenticatedError("the peer sent no certificate");
  std::vector<X509Ptr> chain = ReadCertificates(chain_pem);
  std::vector<X509*> intermediates;
  for (const X509Ptr& cert : chain) {
    if (X509_cmp(cert.get(), leaf.front().get()) != 0)
      intermediates.push_back(cert.get());
  }
  return VerifyChain(leaf.front().get(), intermediates, purpose, extra_flags,
                     absl::InfinitePast(), nullptr);
}

absl::StatusOr<absl::Time> ChainVerifier::VerifyParsed(
    X509* leaf, const std::vector<X509*>& intermediates, absl::Time now,
    Purpose purpose) const {
  if (leaf == nullptr)
    return absl::UnauthenticatedError("the peer sent no certificate");
  absl::Time valid_until = absl::InfiniteFuture();
  if (absl::Status status =
          VerifyChain(leaf, intermediates, purpose, 0, now, &valid_until);
      !status.ok())
    return status;
  return valid_until;
}

absl::Status ChainVerifier::VerifyChain(
    X509* leaf, const std::vector<X509*>& intermediates, Purpose purpose,
    unsigned long extra_flags, absl::Time at, absl::Time* valid_until) const {
  // The stack holds its own references: the caller keeps its certificates.
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  for (X509* cert : intermediates) {
    if (X509_cmp(cert, leaf) == 0) continue;
    X509_up_ref(cert);
    sk_X509_push(untrusted.get(), cert);
  }
  std::unique_ptr<X509_STORE_CTX, ContextFree> context(X509_STORE_CTX_new());
  if (!context || X509_STORE_CTX_init(context.get(), store_->store, leaf,
                                      untrusted.get()) != 1) {
    return absl::InternalError("cannot set up certificate verification");
  }
  X509_STORE_CTX_set_purpose(context.get(), purpose == Purpose::kServer
                                                ? X509_PURPOSE_SSL_SERVER
                                                : X509_PURPOSE_SSL_CLIENT);
  if (crls_required_) {
    X509_STORE_CTX_set_flags(context.get(),
                             X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  }
  if (extra_flags != 0) X509_STORE_CTX_set_flags(context.get(), extra_flags);
  if (at != absl::InfinitePast())
    X509_STORE_CTX_set_time(context.get(), 0, absl::ToTimeT(at));
  if (X509_verify_cert(context.get()) == 1) {
    if (purpose == Purpose::kClient) {
      if (absl::Status status = CheckOperatorIssuer(leaf, context.get());
          !status.ok())
        return status;
    }
    if (valid_until != nullptr) {
      *valid_until =
          crls_required_ ? crls_valid_until_ : absl::InfiniteFuture();
      const STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context.get());
      for (int i = 0; i < sk_X509_num(chain); ++i) {
        *valid_until = std::min(
            *valid_until,
            Asn1TimeToAbsl(X509_get0_notAfter(sk_X509_value(chain, i))));
      }
    }
    return absl::OkStatus();
  }
  const int error = X509_STORE_CTX_get_error(context.get());
  X509* failing = X509_STORE_CTX_get_current_cert(context.get());
  const std::string subject =
      failing ? NameText(X509_get_subject_name(failing)) : "?";
  const std::string issuer =
      failing ? NameText(X509_get_issuer_name(failing)) : "?";
  ERR_clear_error();
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_CRL:
      return absl::UnauthenticatedError(
          absl::StrCat("no CRL of ", issuer, " is available to check ", subject,
                       " against, so it is refused (revocation fails closed)"));
    case X509_V_ERR_CRL_HAS_EXPIRED:
      return absl::UnauthenticatedError(absl::StrCat(
          "the CRL of ", issuer,
          " is past its nextUpdate; until a current one is installed its "
          "clients are refused (",
          subject, "; revocation fails closed)"));
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return absl::UnauthenticatedError(
          absl::StrCat("the CRL of ", issuer, " is not valid yet (", subject,
                       "; revocation fails closed)"));
    case X509_V_ERR_CERT_REVOKED:
      return absl::UnauthenticatedError(
          absl::StrCat(subject, " is revoked by its CA's CRL"));
    default:
      return absl::UnauthenticatedError(
          absl::StrCat(subject, ": ", X509_verify_cert_error_string(error)));
  }
}

}  // namespace opsagent
