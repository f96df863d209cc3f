// What an HTTP request to the gateway says, checked: query values, Last-Event-ID, and the lines of
// POST /publish. No networking here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/event.hpp"

namespace pi {

// The value of `name` in the query of a request target ("/events?a=1&lastEventId=7"), if present.
std::optional<std::string> query_value(std::string_view target, std::string_view name);

// The deepest nesting of arrays and objects in a JSON text (outside its strings), without parsing it.
std::size_t json_depth(const std::string& text);

// One line of POST /publish: {"id": N, "kind": WORD, "data": {...}}. Throws std::invalid_argument (or
// nlohmann's errors) for anything else: every field that goes into an SSE frame is validated.
Event parse_published_event(const std::string& line);

// An event id as a client sends it (Last-Event-ID, lastEventId): 1 to 19 digits; nullopt otherwise.
std::optional<std::uint64_t> parse_id(const std::string& text);

}  // namespace pi
