#pragma once

#include <string>
#include <vector>

#include "config/topology.hpp"

namespace sluice {

/// One problem with the files of [cluster.tls]: the key it belongs to
/// (certificate, key or ca_file) and what is wrong.
struct tls_problem {
  std::string key;
  std::string message;
};

/// Checks the PEM files of `tls` with OpenSSL before anything uses them:
/// each exists and is readable, the certificate and the CA file hold
/// certificates, the key is an unencrypted private key that matches the
/// certificate, and the CA signed the certificate, which has not expired.
/// Empty when `tls` is off or every check passed.
std::vector<tls_problem> check_tls_files(const tls_spec& tls);

} // namespace sluice
