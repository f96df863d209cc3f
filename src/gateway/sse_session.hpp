// One SSE stream to a viewer, from the response head to the socket's end.
#pragma once

#include <cstdint>
#include <optional>

#include "gateway/shared_state.hpp"

namespace pi {

// Takes over `socket` (a GET /events whose headers were read): sends the head, then the snapshot, the
// replay after `last_id` or a reset, and every event after. `over_cap`: answered in-stream with an
// "overload" event and closed.
void start_sse_session(tcp::socket socket, SharedState& gw, std::optional<std::uint64_t> last_id,
                       bool over_cap);

}  // namespace pi
