#include "gateway/hub.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>

#include "gateway/sse_frame.hpp"

namespace pi {
namespace {

// log10 of an error bound as the job writes it ("6.58e-4000039", far below a double's range), or nullopt.
std::optional<double> log10_of(const nlohmann::json& bound) {
  if (!bound.is_string()) return std::nullopt;
  const std::string text = bound.get<std::string>();
  const auto e = text.find_first_of("eE");
  const std::string mantissa_text = text.substr(0, e);
  const std::string exponent_text = e == std::string::npos ? "0" : text.substr(e + 1);
  char* end = nullptr;
  const double mantissa = std::strtod(mantissa_text.c_str(), &end);
  if (mantissa_text.empty() || *end != '\0' || !(mantissa > 0) || !std::isfinite(mantissa))
    return std::nullopt;
  errno = 0;
  const long long exponent = std::strtoll(exponent_text.c_str(), &end, 10);
  if (exponent_text.empty() || *end != '\0' || errno != 0) return std::nullopt;
  return std::log10(mantissa) + static_cast<double>(exponent);
}

// A field of a publisher's event, or nothing when it is missing or of another type: what a publisher
// sends never throws here.
nlohmann::json field(const nlohmann::json& object, const char* key, nlohmann::json::value_t type) {
  const auto it = object.find(key);
  if (it == object.end()) return nullptr;
  const bool number = type == nlohmann::json::value_t::number_float;
  return (number ? it->is_number() : it->type() == type) ? *it : nlohmann::json(nullptr);
}

}  // namespace

void Hub::start_job(const std::string& job_id) {
  if (job_id == job_id_) return;
  job_id_ = job_id;
  latest_.clear();
  convergence_.clear();
  timeline_.clear();
  timeline_dropped_ = 0;
}

void Hub::add_spans(const nlohmann::json& tasks) {
  const nlohmann::json spans = field(tasks, "spans", nlohmann::json::value_t::array);
  const nlohmann::json unlisted = field(tasks, "not_listed", nlohmann::json::value_t::number_float);
  if (unlisted.is_number_unsigned()) timeline_dropped_ += unlisted.get<std::uint64_t>();
  if (!spans.is_array()) return;
  for (const nlohmann::json& span : spans) {
    if (!span.is_array()) continue;
    timeline_.push_back(span);
    if (timeline_.size() > kTimelineSpans) {
      timeline_.pop_front();
      ++timeline_dropped_;
    }
  }
}

void Hub::add_point(const nlohmann::json& estimate) {
  constexpr auto number = nlohmann::json::value_t::number_float;
  constexpr auto text = nlohmann::json::value_t::string;
  nlohmann::json point = {{"terms", field(estimate, "terms", number)},
                          {"correct_digits", field(estimate, "correct_digits", number)},
                          {"about_digits", field(estimate, "about_digits_of_terms", number)},
                          {"elapsed_s", field(estimate, "elapsed_s", number)}};
  if (point["terms"].is_null()) return;
  if (const auto b = log10_of(field(estimate, "error_bound", text))) point["log10_bound"] = *b;
  if (const auto b = log10_of(field(estimate, "partial_sum_error_bound", text)))
    point["log10_partial_bound"] = *b;
  if (!convergence_.empty() && convergence_.back()["terms"] == point["terms"]) convergence_.pop_back();
  convergence_.push_back(std::move(point));
  if (convergence_.size() >= kConvergencePoints) {
    std::vector<nlohmann::json> thinned;
    for (std::size_t i = 0; i + 1 < convergence_.size(); i += 2)
      thinned.push_back(std::move(convergence_[i]));
    thinned.push_back(std::move(convergence_.back()));
    convergence_ = std::move(thinned);
  }
}

nlohmann::json Hub::job_state(Clock::time_point now) const {
  const auto it = latest_.find(std::string(event_kind::progress));
  if (it == latest_.end() || !it->second.is_object() || !heard_)
    return {{"state", "waiting"}, {"heard_s_ago", nullptr}};
  const double ago = std::chrono::duration<double>(now - *heard_).count();
  const nlohmann::json said = field(it->second, "state", nlohmann::json::value_t::string);
  std::string state = said.is_string() ? said.get<std::string>() : "running";
  const nlohmann::json every = field(it->second, "interval_s", nlohmann::json::value_t::number_float);
  const double interval = every.is_number() ? std::clamp(every.get<double>(), 0.1, 60.0) : 1.0;
  if ((state == "running" || state == "stopping") && ago > kStalePulses * interval) state = "stale";
  return {{"state", state}, {"heard_s_ago", ago}};
}

bool Hub::publish(const Event& e, Clock::time_point now) {
  nlohmann::json data = nlohmann::json::parse(e.data);
  if (const auto it = latest_.find(e.kind); e.id <= last_id_ && it != latest_.end() && it->second == data) {
    return false;  // a publisher resending the state after a reconnect
  }
  heard_ = now;
  if ((e.kind == event_kind::job || e.kind == event_kind::progress) && data.is_object() &&
      data.contains("job_id") && data["job_id"].is_string()) {
    start_job(data["job_id"].get<std::string>());
  }
  if (e.kind == event_kind::estimate && data.is_object()) add_point(data);
  if (e.kind == event_kind::tasks && data.is_object()) add_spans(data);
  if (e.kind == event_kind::job) {
    // Each run's timeline counts from its own start.
    timeline_.clear();
    timeline_dropped_ = 0;
    // A job (re)starts: what a viewer saw of an earlier run is no longer the current state.
    for (const std::string_view k : kStateKinds)
      if (k != event_kind::job && k != event_kind::progress) latest_.erase(std::string(k));
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

nlohmann::json Hub::status(Clock::time_point now) const {
  nlohmann::json j = {{"last_id", last_id_},
                      {"job_state", job_state(now)},
                      {"history", convergence_},
                      {"timeline", {{"spans", timeline_}, {"dropped", timeline_dropped_}}}};
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
