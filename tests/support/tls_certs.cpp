#include "tests/support/tls_certs.hpp"

#include <chrono>
#include <cstdlib>
#include <vector>

#include <catch2/catch.hpp>
#include <unistd.h>

namespace sluice::test {

namespace {

/// The `openssl` command found on PATH (the test's processes are started
/// with execv, which does not search it).
std::string openssl_command() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    auto candidate = dirs.substr(start, end - start) + "/openssl";
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  FAIL("the openssl command is not on PATH");
  return {};
}

void openssl(std::vector<std::string> args) {
  static const auto command = openssl_command();
  args.insert(args.begin(), command);
  auto [code, out] = run_command(args, std::chrono::seconds{30});
  INFO(out);
  REQUIRE(code == 0);
}

void make_ca(const std::string& pem, const std::string& key,
             const std::string& name) {
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
           pem, "-days", "2", "-subj", "/CN=" + name});
}

void make_node(const temp_dir& dir, const std::string& name,
               const std::string& ca, const std::string& ca_key,
               const std::string& days = "2") {
  auto csr = dir / (name + ".csr");
  openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
           "-nodes", "-keyout", dir / (name + ".key"), "-out", csr, "-subj",
           "/CN=" + name});
  openssl({"x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
           "-CAcreateserial", "-out", dir / (name + ".pem"), "-days", days});
}

} // namespace

tls_files make_tls_files(const temp_dir& dir) {
  tls_files f;
  f.ca = dir / "ca.pem";
  f.rogue_ca = dir / "rogue-ca.pem";
  make_ca(f.ca, dir / "ca.key", "sluice test CA");
  make_ca(f.rogue_ca, dir / "rogue-ca.key", "another CA");
  make_node(dir, "node", f.ca, dir / "ca.key");
  make_node(dir, "rogue", f.rogue_ca, dir / "rogue-ca.key");
  // Valid until a day ago.
  make_node(dir, "expired", f.ca, dir / "ca.key", "-1");
  f.expired_cert = dir / "expired.pem";
  f.expired_key = dir / "expired.key";
  f.cert = dir / "node.pem";
  f.key = dir / "node.key";
  f.rogue_cert = dir / "rogue.pem";
  f.rogue_key = dir / "rogue.key";
  return f;
}

const tls_files& shared_tls_files() {
  static temp_dir dir;
  static tls_files files = make_tls_files(dir);
  return files;
}

std::string tls_table(const std::string& cert, const std::string& key,
                      const std::string& ca) {
  return "\n[cluster.tls]\ncertificate = \"" + cert + "\"\nkey = \"" + key +
         "\"\nca_file = \"" + ca + "\"\n";
}

} // namespace sluice::test
