#include "common/tls/server_trust.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/tls/certificate_info.h"
#include "common/tls/staging_directory.h"
#include "common/trusted_path.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::unique_ptr<X509, X509Free> FirstCertificate(absl::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return cert;
}

std::string Der(X509* cert) {
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert, &der);
  if (length <= 0) return "";
  std::string out(reinterpret_cast<char*>(der), length);
  OPENSSL_free(der);
  return out;
}

// The certificate and key must parse and belong together.
absl::Status CheckIdentityPair(absl::string_view cert_pem,
                               absl::string_view key_pem,
                               const TlsFiles& files) {
  std::unique_ptr<X509, X509Free> cert = FirstCertificate(cert_pem);
  if (!cert)
    return absl::InvalidArgumentError(
        absl::StrCat(files.certificate, ": no PEM certificate found"));
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!key)
    return absl::InvalidArgumentError(
        absl::StrCat(files.private_key, ": no PEM private key found"));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        files.private_key, " is not the key of ", files.certificate));
  }
  return absl::OkStatus();
}

// Replaces `path` atomically, so the watcher never reads half a file.
absl::Status Stage(const std::string& path, absl::string_view content) {
  const std::string temporary = path + ".new";
  const int fd =
      open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot stage ", path, ": ", std::strerror(errno)));
  }
  const bool written = write(fd, content.data(), content.size()) ==
                       static_cast<ssize_t>(content.size());
  close(fd);
  if (!written || rename(temporary.c_str(), path.c_str()) != 0) {
    unlink(temporary.c_str());
    return absl::UnavailableError(
        absl::StrCat("cannot stage ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// systemd's RuntimeDirectory (a list: the first), else TMPDIR, else /tmp.
std::string StagingParent() {
  if (const char* runtime = std::getenv("RUNTIME_DIRECTORY");
      runtime != nullptr && runtime[0] == '/')
    return std::string(runtime).substr(0, std::string(runtime).find(':'));
  if (const char* tmpdir = std::getenv("TMPDIR");
      tmpdir != nullptr && tmpdir[0] == '/')
    return tmpdir;
  return "/tmp";
}

}  // namespace

struct ServerTrust::State {
  absl::Mutex mutex;
  std::shared_ptr<const ChainVerifier> chain ABSL_GUARDED_BY(mutex);
  std::string own_certificate_der ABSL_GUARDED_BY(mutex);
  // The last content that passed, by role.
  std::string certificate ABSL_GUARDED_BY(mutex);
  std::string private_key ABSL_GUARDED_BY(mutex);
  std::string ca_bundle ABSL_GUARDED_BY(mutex);
  // `certificate`'s notAfter.
  absl::StatusOr<absl::Time> certificate_not_after ABSL_GUARDED_BY(mutex) =
      absl::UnavailableError("no certificate has passed its checks yet");
};

namespace {

// What ServerTrust::verifier() hands gRPC: the current ChainVerifier, built
// with or without CRLs, for every client but the server itself.
class ClientVerifier : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit ClientVerifier(std::shared_ptr<ServerTrust::State> state)
      : state_(std::move(state)) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    const grpc::string_ref leaf = request->peer_cert();
    const grpc::string_ref chain = request->peer_cert_full_chain();
    const absl::string_view leaf_pem(leaf.data(), leaf.size());
    std::shared_ptr<const ChainVerifier> verifier;
    std::string own;
    {
      absl::MutexLock lock(&state_->mutex);
      verifier = state_->chain;
      own = state_->own_certificate_der;
    }
    std::unique_ptr<X509, X509Free> cert = FirstCertificate(leaf_pem);
    absl::Status status;
    if (cert && Der(cert.get()) == own) {
      status = absl::OkStatus();  // the liveness probe: not a caller
    } else if (verifier == nullptr) {
      status = absl::UnavailableError("no CA bundle has passed its checks yet");
    } else {
      status = verifier->Verify(leaf_pem,
                                absl::string_view(chain.data(), chain.size()));
    }
    if (status.ok()) {
      *sync_status = grpc::Status::OK;
    } else {
      spdlog::warn("refused a client at the TLS handshake: {}",
                   status.message());
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  std::string(status.message()));
    }
    return true;  // answered synchronously
  }

  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {
  }

 private:
  std::shared_ptr<ServerTrust::State> state_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ServerTrust>> ServerTrust::Create(
    const TlsFiles& files) {
  std::unique_ptr<ServerTrust> trust(new ServerTrust());
  trust->configured_ = files;
  absl::StatusOr<std::unique_ptr<StagingDirectory>> staging =
      StagingDirectory::Create(StagingParent());
  if (!staging.ok()) return staging.status();
  trust->staging_ = *std::move(staging);
  const std::string& directory = trust->staging_->path();
  trust->staged_ = files;
  trust->staged_.certificate = directory + "/certificate.pem";
  trust->staged_.private_key = directory + "/private_key.pem";
  trust->staged_.ca_certificate = directory + "/ca_bundle.pem";
  trust->staged_.crl_directory.clear();
  trust->state_ = std::make_shared<State>();
  if (!files.crl_directory.empty()) {
    if (absl::Status status =
            CheckTrustedPath(files.crl_directory, TrustedKind::kDirectory);
        !status.ok())
      return status;
  }
  if (absl::Status status = trust->Refresh(); !status.ok()) {
    absl::MutexLock lock(&trust->state_->mutex);
    // Nothing may be missing at start; CRL problems fail closed instead.
    if (trust->state_->certificate.empty() ||
        trust->state_->private_key.empty() || trust->state_->ca_bundle.empty())
      return status;
  }
  trust->verifier_ =
      grpc::experimental::ExternalCertificateVerifier::Create<ClientVerifier>(
          trust->state_);
  const absl::Duration interval =
      absl::Seconds(std::max(1, files.refresh_interval_seconds));
  ServerTrust* self = trust.get();
  trust->refresher_ = std::thread([self, interval] {
    while (!self->stop_.WaitForNotificationWithTimeout(interval))
      self->Refresh().IgnoreError();
  });
  return trust;
}

absl::Status ServerTrust::VerifyCertificate(
    absl::string_view pem, ChainVerifier::Purpose purpose) const {
  std::shared_ptr<const ChainVerifier> verifier;
  {
    absl::MutexLock lock(&state_->mutex);
    verifier = state_->chain;
  }
  if (verifier == nullptr)
    return absl::UnavailableError("no CA bundle has passed its checks yet");
  return verifier->Verify(pem, pem, purpose);
}

std::shared_ptr<const ChainVerifier> ServerTrust::chain() const {
  absl::MutexLock lock(&state_->mutex);
  return state_->chain;
}

absl::StatusOr<absl::Time> ServerTrust::CertificateNotAfter() const {
  absl::MutexLock lock(&state_->mutex);
  return state_->certificate_not_after;
}

ServerTrust::~ServerTrust() {
  stop_.Notify();
  if (refresher_.joinable()) refresher_.join();
}

absl::Status ServerTrust::Refresh() {
  absl::MutexLock refresh_lock(&refresh_mutex_);
  std::vector<std::string> problems;
  auto read_trusted = [&](const std::string& path,
                          TrustedKind kind) -> std::optional<std::string> {
    if (absl::Status status = CheckTrustedPath(path, kind); !status.ok()) {
      problems.push_back(std::string(status.message()));
      return std::nullopt;
    }
    absl::StatusOr<std::string> content = ReadWholeFile(path);
    if (!content.ok()) {
      problems.push_back(std::string(content.status().message()));
      return std::nullopt;
    }
    return *std::move(content);
  };

  std::optional<std::string> certificate =
      read_trusted(configured_.certificate, TrustedKind::kFile);
  std::optional<std::string> private_key =
      read_trusted(configured_.private_key, TrustedKind::kSecretFile);
  std::optional<std::string> ca_bundle =
      read_trusted(configured_.ca_certificate, TrustedKind::kFile);
  if (certificate && private_key) {
    if (absl::Status status =
            CheckIdentityPair(*certificate, *private_key, configured_);
        !status.ok()) {
      problems.push_back(std::string(status.message()));
      certificate.reset();
      private_key.reset();
    }
  }
  if (ca_bundle && !FirstCertificate(*ca_bundle)) {
    problems.push_back(
        absl::StrCat(configured_.ca_certificate, ": no PEM certificate found"));
    ca_bundle.reset();
  }

  std::vector<std::pair<std::string, std::string>> crls;
  const std::string& directory = configured_.crl_directory;
  if (!directory.empty()) {
    if (absl::Status status =
            CheckTrustedPath(directory, TrustedKind::kDirectory);
        !status.ok()) {
      problems.push_back(
          absl::StrCat(status.message(),
                       "; no CRL from it is used, so every client is "
                       "refused"));
    } else if (DIR* dir = opendir(directory.c_str())) {
      std::vector<std::string> names;
      while (dirent* entry = readdir(dir)) {
        if (entry->d_name[0] != '.') names.push_back(entry->d_name);
      }
      closedir(dir);
      std::sort(names.begin(), names.end());
      for (const std::string& name : names) {
        const std::string path = directory + "/" + name;
        struct stat st;
        if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (std::optional<std::string> content =
                read_trusted(path, TrustedKind::kFile))
          crls.emplace_back(path, *std::move(content));
      }
    } else {
      problems.push_back(absl::StrCat("cannot read the CRL directory ",
                                      directory, ": ", std::strerror(errno),
                                      "; every client is refused"));
    }
  }

  // Stage what passed, and rebuild the chain check (with revocation when a
  // CRL directory is configured) when its inputs changed.
  std::string ca_for_chain;
  {
    absl::MutexLock lock(&state_->mutex);
    const std::pair<std::optional<std::string>*, std::string*> updates[] = {
        {&certificate, &state_->certificate},
        {&private_key, &state_->private_key},
        {&ca_bundle, &state_->ca_bundle}};
    const std::string* staged_paths[] = {
        &staged_.certificate, &staged_.private_key, &staged_.ca_certificate};
    for (int i = 0; i < 3; ++i) {
      std::optional<std::string>& candidate = *updates[i].first;
      if (!candidate || *candidate == *updates[i].second) continue;
      if (absl::Status status = Stage(*staged_paths[i], *candidate);
          !status.ok()) {
        problems.push_back(std::string(status.message()));
        continue;
      }
      *updates[i].second = *candidate;
      if (i == 0) {
        absl::StatusOr<CertificateInfo> info = ParseCertificatePem(*candidate);
        state_->certificate_not_after =
            info.ok() ? absl::StatusOr<absl::Time>(info->not_after)
                      : info.status();
      }
    }
    if (std::unique_ptr<X509, X509Free> own =
            FirstCertificate(state_->certificate))
      state_->own_certificate_der = Der(own.get());
    ca_for_chain = state_->ca_bundle;
  }
  std::string fingerprint = ca_for_chain;
  for (const auto& [path, content] : crls)
    absl::StrAppend(&fingerprint, "\n", path, "\n", content);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(fingerprint.data()),
         fingerprint.size(), digest);
  fingerprint.assign(reinterpret_cast<char*>(digest), sizeof(digest));
  if (!ca_for_chain.empty() && fingerprint != crl_fingerprint_) {
    std::vector<std::string> crl_problems;
    absl::StatusOr<std::unique_ptr<ChainVerifier>> chain = ChainVerifier::Build(
        ca_for_chain, crls, !directory.empty(), &crl_problems);
    for (std::string& problem : crl_problems) problems.push_back(problem);
    if (chain.ok()) {
      for (const std::string& line : (*chain)->description())
        spdlog::info("client certificates: {}", line);
      absl::MutexLock lock(&state_->mutex);
      state_->chain = *std::move(chain);
      crl_fingerprint_ = fingerprint;
    } else {
      problems.push_back(std::string(chain.status().message()));
    }
  }

  const std::string joined = absl::StrJoin(problems, "; ");
  if (joined != last_problem_) {
    for (const std::string& problem : problems)
      spdlog::error("refusing a TLS file: {}", problem);
    if (problems.empty() && !last_problem_.empty())
      spdlog::info("TLS files: every file passes its checks again");
    last_problem_ = joined;
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::PermissionDeniedError(problems.front());
}

}  // namespace opsagent
