#ifndef OPSAGENT_COMMON_TLS_OPENSSL_PTR_H_
#define OPSAGENT_COMMON_TLS_OPENSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/x509.h>

#include <memory>

namespace opsagent {

// Owning pointers for the OpenSSL objects that making certificates, requests
// and CRLs juggles, so that every early return frees what was made. (Keys:
// UniqueEvpKey, common/signing/evp_key.h.)
template <typename T, void (*Free)(T*)>
struct OpenSslFree {
  void operator()(T* object) const { Free(object); }
};
template <typename T, void (*Free)(T*)>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree<T, Free>>;

using UniqueAsn1Integer = OpenSslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using UniqueAsn1Time = OpenSslPtr<ASN1_TIME, ASN1_TIME_free>;
using UniqueBignum = OpenSslPtr<BIGNUM, BN_free>;
using UniqueBio = OpenSslPtr<BIO, BIO_free_all>;
using UniqueCrl = OpenSslPtr<X509_CRL, X509_CRL_free>;
using UniqueRequest = OpenSslPtr<X509_REQ, X509_REQ_free>;
using UniqueX509 = OpenSslPtr<X509, X509_free>;

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_OPENSSL_PTR_H_
