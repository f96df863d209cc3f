#include "events/event.hpp"

namespace pi {

std::uint64_t EventFeed::publish(std::string_view kind, const nlohmann::json& data) {
  std::lock_guard lock(mutex_);
  Event e{++last_id_, std::string(kind), data.dump()};
  output_.send(e);
  return e.id;
}

std::uint64_t EventFeed::last_id() const {
  std::lock_guard lock(mutex_);
  return last_id_;
}

}  // namespace pi
