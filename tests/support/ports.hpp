#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <random>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sluice::test {

/// A TCP port on 127.0.0.1 that was free a moment ago; 0 if none.
///
/// It is chosen below the kernel's ephemeral range, where no outgoing
/// connection takes it: a node restarted on its port after a SIGKILL finds
/// it free even while other tests connect around it (a port the kernel
/// picked for a bind to port 0 would be in that range, and any client
/// socket of another process could hold it by then).
inline uint16_t free_port() {
  uint32_t low = 32768;
  std::ifstream{"/proc/sys/net/ipv4/ip_local_port_range"} >> low;
  uint32_t first = 10000;
  uint32_t last = low > first + 1000 ? low - 1 : 30999;
  static std::mt19937 rng{static_cast<uint32_t>(
      ::getpid() ^
      std::chrono::steady_clock::now().time_since_epoch().count())};
  std::uniform_int_distribution<uint32_t> pick{first, last};
  for (int tries = 0; tries < 200; ++tries) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    auto port = static_cast<uint16_t>(pick(rng));
    addr.sin_port = htons(port);
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    if (ok)
      return port;
  }
  return 0;
}

} // namespace sluice::test
