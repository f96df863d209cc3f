#include "gateway/hub.hpp"

#include <algorithm>
#include <chrono>

#include "gateway/sse_frame.hpp"

namespace pi {
bool Hub::publish(const Event& e) {
  nlohmann::json data = nlohmann::json::parse(e.data);
  if (const auto it = latest_.find(e.kind); e.id <= last_id_ && it != latest_.end() && it->second == data) {
    return false;  // a publisher resending the state after a reconnect
  }
  if (e.kind == event_kind::job) {
    // A job (re)starts: what a viewer saw of an earlier run is no longer the current state.
    for (const std::string_view k : kStateKinds)
      if (k != event_kind::job) latest_.erase(std::string(k));
  }
  const std::uint64_t id = std::max(last_id_ + 1, e.id);
  last_id_ = id;
  auto frame = std::make_shared<const std::string>(sse_frame(id, e.kind, e.data));
  history_.push_back({id, frame});
  while (history_.size() > history_limit_) history_.pop_front();
  latest_[e.kind] = std::move(data);
  ++metrics_.events_published;

  const auto t0 = std::chrono::steady_clock::now();
  broadcast(frame, e.kind);
  metrics_.fanout_last_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  metrics_.fanout_max_s = std::max(metrics_.fanout_max_s, metrics_.fanout_last_s);
  return true;
}

void Hub::broadcast(const Frame& frame, const std::string& kind) {
  std::erase_if(subscribers_, [](const auto& w) { return w.expired(); });
  // A push that drops a stream only closes it; the list changes at the next erase, so no copy of it is needed
  // (one per event, for every stream).
  for (const auto& weak : subscribers_) {
    if (auto s = weak.lock()) s->push(frame, kind);
  }
}

std::optional<std::vector<Frame>> Hub::replay_after(std::uint64_t last_id) const {
  if (last_id == last_id_) return std::vector<Frame>{};
  if (last_id > last_id_ || history_.empty() || last_id + 1 < history_.front().id) return std::nullopt;
  std::vector<Frame> out;
  for (const Stored& s : history_)
    if (s.id > last_id) out.push_back(s.frame);
  return out;
}

nlohmann::json Hub::status() const {
  nlohmann::json j = {{"last_id", last_id_}};
  for (const std::string_view k : kStateKinds) {
    const auto it = latest_.find(std::string(k));
    j[std::string(k)] = it == latest_.end() ? nlohmann::json(nullptr) : it->second;
  }
  return j;
}

Frame Hub::state_frame(std::string_view kind) const {
  return std::make_shared<const std::string>(sse_frame(last_id_, kind, status().dump()));
}

std::size_t Hub::streams() {
  std::erase_if(subscribers_, [](const auto& w) { return w.expired(); });
  return subscribers_.size();
}

}  // namespace pi
