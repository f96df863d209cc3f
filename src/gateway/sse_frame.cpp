#include "gateway/sse_frame.hpp"

namespace pi {

std::string sse_frame(std::uint64_t id, std::string_view kind, std::string_view data) {
  std::string f = "id: " + std::to_string(id) + "\nevent: ";
  f += kind;
  f += '\n';
  for (;;) {
    const std::size_t nl = data.find('\n');
    f += "data: ";
    f += data.substr(0, nl);
    f += '\n';
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
  return f + "\n";
}

std::string sse_comment(std::string_view text) {
  std::string f = ": ";
  f += text;
  return f + "\n\n";
}

}  // namespace pi
