#pragma once

#include <string>

#include "tests/support/process.hpp"

namespace sluice::test {

/// PEM files for TLS tests, made with the `openssl` command: a CA, a node
/// certificate it signed, an expired one it signed, and a rogue node whose
/// certificate another CA signed.
struct tls_files {
  std::string ca;           ///< the cluster's CA certificate
  std::string cert;         ///< a node certificate `ca` signed
  std::string key;          ///< its private key
  std::string rogue_ca;     ///< another CA
  std::string rogue_cert;   ///< a node certificate `rogue_ca` signed
  std::string rogue_key;    ///< its private key
  std::string expired_cert; ///< a certificate `ca` signed that has expired
  std::string expired_key;  ///< its private key
};

/// Makes the files of `tls_files` in `dir`; fails the test when the
/// `openssl` command fails.
tls_files make_tls_files(const temp_dir& dir);

/// The files of `make_tls_files`, made once per test process (they are
/// only read).
const tls_files& shared_tls_files();

/// The [cluster.tls] table naming `cert`, `key` and `ca`.
std::string tls_table(const std::string& cert, const std::string& key,
                      const std::string& ca);

} // namespace sluice::test
