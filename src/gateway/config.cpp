// The gateway's settings as the command line gives them: the listening address, the token file.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "gateway/gateway.hpp"

namespace pi {

void parse_listen(const std::string& flag, const std::string& text, GatewayConfig& config) {
  const auto colon = text.rfind(':');
  const auto bad = [&] {
    return GatewayError(flag + " '" + text +
                        "' is not accepted: give HOST:PORT, e.g. 127.0.0.1:8080 (PORT 0-65535)");
  };
  if (colon == std::string::npos) throw bad();
  std::string host = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    throw bad();
  const unsigned long p = std::stoul(port);
  if (p > 65535) throw bad();
  config.host = host.empty() ? "127.0.0.1" : (host == "localhost" ? "127.0.0.1" : host);
  config.port = static_cast<unsigned short>(p);
}

std::string read_token_file(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
    throw GatewayError("--token-file '" + path + "' is not a regular file: give a file holding the token");
  if (std::filesystem::is_regular_file(status) && std::filesystem::file_size(path, ec) > 4096)
    throw GatewayError("--token-file '" + path + "' is over 4 KiB: give a file holding only the token");
  std::ifstream in(path);
  if (!in) throw GatewayError("--token-file '" + path + "' cannot be read");
  std::string token;
  try {
    token.assign(std::istreambuf_iterator<char>(in), {});
  } catch (const std::exception&) {
    throw GatewayError("--token-file '" + path + "' cannot be read");
  }
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.empty()) throw GatewayError("--token-file '" + path + "' is empty: put a secret token in it");
  return token;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

}  // namespace pi
