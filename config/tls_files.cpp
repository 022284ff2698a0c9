#include "config/tls_files.hpp"

#include <filesystem>
#include <memory>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <unistd.h>

namespace sluice {

namespace {

template <class T, void (*Free)(T*)>
struct deleter {
  void operator()(T* x) const noexcept { Free(x); }
};

using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using store_ptr =
    std::unique_ptr<X509_STORE, deleter<X509_STORE, X509_STORE_free>>;
using store_ctx_ptr =
    std::unique_ptr<X509_STORE_CTX,
                    deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

/// OpenSSL's reason for the last failure on this thread, and a clean queue.
std::string openssl_reason() {
  auto code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0)
    return "no PEM data";
  const char* reason = ERR_reason_error_string(code);
  return reason ? reason : "unknown error";
}

std::string quoted(const char* key, const std::string& path) {
  return std::string{key} + " '" + path + "' of [cluster.tls]";
}

/// Empty when `path` is a readable file; else why not.
std::string unreadable(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return "is not a file that exists";
  if (::access(path.c_str(), R_OK) != 0)
    return "cannot be read by this process";
  return {};
}

/// The password callback of a key that turns out encrypted: no passphrase,
/// and a note that the key was encrypted.
int no_passphrase(char*, int, int, void* encrypted) {
  *static_cast<bool*>(encrypted) = true;
  return -1;
}

std::string not_after(const X509* cert) {
  bio_ptr out{BIO_new(BIO_s_mem())};
  if (!out || ASN1_TIME_print(out.get(), X509_get0_notAfter(cert)) != 1)
    return "?";
  char* data = nullptr;
  auto n = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

} // namespace

std::vector<tls_problem> check_tls_files(const tls_spec& tls) {
  std::vector<tls_problem> result;
  if (tls.certificate.empty() && tls.key.empty() && tls.ca_file.empty())
    return result;
  auto problem = [&](const char* key, std::string msg) {
    result.push_back({key, std::move(msg)});
  };
  ERR_clear_error();
  x509_ptr cert;
  pkey_ptr key;
  store_ptr store;
  if (!tls.certificate.empty()) {
    if (auto why = unreadable(tls.certificate); !why.empty())
      problem("certificate",
              quoted("certificate", tls.certificate) + " " + why);
    else if (bio_ptr in{BIO_new_file(tls.certificate.c_str(), "r")}; !in)
      problem("certificate", quoted("certificate", tls.certificate) +
                                 " cannot be opened: " + openssl_reason());
    else if (cert.reset(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
             !cert)
      problem("certificate",
              quoted("certificate", tls.certificate) +
                  " is not a PEM certificate (-----BEGIN CERTIFICATE-----): " +
                  openssl_reason());
  }
  if (!tls.key.empty()) {
    bool encrypted = false;
    if (auto why = unreadable(tls.key); !why.empty())
      problem("key", quoted("key", tls.key) + " " + why);
    else if (bio_ptr in{BIO_new_file(tls.key.c_str(), "r")}; !in)
      problem("key", quoted("key", tls.key) +
                         " cannot be opened: " + openssl_reason());
    else if (key.reset(PEM_read_bio_PrivateKey(in.get(), nullptr, no_passphrase,
                                               &encrypted));
             !key)
      problem("key", quoted("key", tls.key) +
                         (encrypted ? " is encrypted; give the key "
                                      "unencrypted (openssl pkey -in KEY "
                                      "-out PLAIN.key) and protect it with "
                                      "file permissions"
                                    : " is not a PEM private key (-----BEGIN "
                                      "PRIVATE KEY-----): " +
                                          openssl_reason()));
    ERR_clear_error();
  }
  if (!tls.ca_file.empty()) {
    if (auto why = unreadable(tls.ca_file); !why.empty()) {
      problem("ca_file", quoted("ca_file", tls.ca_file) + " " + why);
    } else {
      store.reset(X509_STORE_new());
      bio_ptr in{BIO_new_file(tls.ca_file.c_str(), "r")};
      size_t n = 0;
      while (in && store) {
        x509_ptr ca{PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)};
        if (!ca)
          break;
        X509_STORE_add_cert(store.get(), ca.get());
        ++n;
      }
      ERR_clear_error();
      if (n == 0) {
        problem("ca_file",
                quoted("ca_file", tls.ca_file) +
                    " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        store.reset();
      }
    }
  }
  if (cert && key && X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    problem("key", quoted("key", tls.key) +
                       " is not the private key of certificate '" +
                       tls.certificate + "'");
  }
  if (cert && store) {
    store_ctx_ptr ctx{X509_STORE_CTX_new()};
    if (ctx &&
        X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) == 1 &&
        X509_verify_cert(ctx.get()) != 1) {
      auto code = X509_STORE_CTX_get_error(ctx.get());
      auto* bad = X509_STORE_CTX_get_current_cert(ctx.get());
      std::string what;
      switch (code) {
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        what = "is not signed by the CA of ca_file '" + tls.ca_file +
               "'; peers would refuse this node";
        break;
      case X509_V_ERR_CERT_HAS_EXPIRED:
        what = std::string{bad == cert.get() ? "has expired"
                                             : "is signed by a CA that has "
                                               "expired"} +
               " (not after " + not_after(bad ? bad : cert.get()) + ")";
        break;
      case X509_V_ERR_CERT_NOT_YET_VALID:
        what = "is not valid yet";
        break;
      default:
        what = std::string{"does not verify against ca_file '"} + tls.ca_file +
               "': " + X509_verify_cert_error_string(code);
      }
      problem("certificate",
              quoted("certificate", tls.certificate) + " " + what);
    }
    ERR_clear_error();
  }
  return result;
}

} // namespace sluice
