// The Server-Sent Events wire format, as the gateway writes it (WHATWG HTML, "Server-sent events").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pi {

// One event: `id`, `event` and `data` lines and the blank line that ends it. A newline in `data` starts
// another `data` line (a client joins them with newlines), so no text can end the frame early.
std::string sse_frame(std::uint64_t id, std::string_view kind, std::string_view data);

// A comment line: ignored by clients, it keeps idle connections (and proxies) from timing out.
std::string sse_comment(std::string_view text);

}  // namespace pi
