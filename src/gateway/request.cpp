#include "gateway/request.hpp"

#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace pi {

std::optional<std::string> query_value(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return std::string(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return std::nullopt;
}

// The deepest nesting of arrays and objects in a JSON text (outside its strings), without parsing it:
// a line nested 100,000 deep must be refused before a recursive parser or destructor sees it.
std::size_t json_depth(const std::string& text) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// One line of POST /publish, checked: every field that goes into an SSE frame is validated, so a publisher
// can't break the framing of every stream (a newline in `kind` would forge a frame).
Event parse_published_event(const std::string& line) {
  constexpr std::size_t kMaxDepth = 32;
  constexpr std::uint64_t kMaxId = std::uint64_t{1} << 53;  // exact in a browser, as raise_ids_to
  if (json_depth(line) > kMaxDepth)
    throw std::invalid_argument("nested deeper than " + std::to_string(kMaxDepth) + " levels");
  const nlohmann::json j = nlohmann::json::parse(line);
  const auto id = j.at("id").get<std::uint64_t>();
  if (id >= kMaxId) throw std::invalid_argument("id " + std::to_string(id) + " is not below 2^53");
  const auto kind = j.at("kind").get<std::string>();
  const bool word = !kind.empty() && kind.size() <= 32 && std::all_of(kind.begin(), kind.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  if (!word) throw std::invalid_argument("kind must be 1-32 of a-z, 0-9, '_' and '-'");
  if (!j.at("data").is_object()) throw std::invalid_argument("data must be a JSON object");
  return Event{id, kind, j.at("data").dump()};  // dump() escapes every control character
}

std::optional<std::uint64_t> parse_id(const std::string& text) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoull(text);
}

}  // namespace pi
