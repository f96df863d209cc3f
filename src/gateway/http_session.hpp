// A connection's HTTP requests (the page, /status, /metrics, POST /publish) until it becomes an SSE stream
// or closes.
#pragma once

#include "gateway/shared_state.hpp"

namespace pi {

void start_http_session(tcp::socket socket, SharedState& gw);

}  // namespace pi
