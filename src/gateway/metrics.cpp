// /metrics: the hub's counters and the job's progress in Prometheus' text format.
#include <sstream>

#include "gateway/shared_state.hpp"

namespace pi {

std::string SharedState::metrics_text() {
  const HubMetrics& m = hub.metrics();
  const nlohmann::json status = hub.status();
  std::ostringstream out;
  const auto metric = [&out](const char* name, const char* type, const char* help, double value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
        << name << ' ' << value << '\n';
  };
  metric("pi_gateway_streams", "gauge", "SSE streams connected", static_cast<double>(hub.streams()));
  metric("pi_gateway_connections_total", "counter", "SSE streams accepted",
         static_cast<double>(m.connections_total));
  metric("pi_gateway_connections_refused_total", "counter", "SSE streams refused over the cap",
         static_cast<double>(m.connections_refused));
  metric("pi_gateway_events_published_total", "counter", "events taken from the job",
         static_cast<double>(m.events_published));
  metric("pi_gateway_events_delivered_total", "counter", "events written to streams",
         static_cast<double>(m.events_delivered));
  metric("pi_gateway_events_coalesced_total", "counter", "queued events replaced by a newer one",
         static_cast<double>(m.events_coalesced));
  metric("pi_gateway_streams_dropped_total", "counter", "streams dropped as too slow",
         static_cast<double>(m.streams_dropped));
  metric("pi_gateway_accept_errors_total", "counter", "accepts that failed (out of descriptors or memory)",
         static_cast<double>(m.accept_errors));
  metric("pi_gateway_publish_refused_total", "counter", "publish requests with a missing or wrong token",
         static_cast<double>(m.publish_refused));
  metric("pi_gateway_resets_total", "counter", "streams whose asked-for history was gone",
         static_cast<double>(m.resets));
  metric("pi_gateway_last_event_id", "gauge", "id of the last event", static_cast<double>(hub.last_id()));
  metric("pi_gateway_fanout_last_seconds", "gauge", "time to hand the last event to every stream",
         m.fanout_last_s);
  metric("pi_gateway_fanout_max_seconds", "gauge", "longest time to hand an event to every stream",
         m.fanout_max_s);
  const nlohmann::json& est = status["estimate"];
  if (est.is_object()) {
    metric("pi_job_fraction_done", "gauge", "fraction of the job's work done", est.value("fraction", 0.0));
    metric("pi_job_ranges_done", "gauge", "grid ranges done", est.value("ranges_done", 0.0));
    metric("pi_job_correct_digits", "gauge", "digits the latest estimate certifies",
           est.value("correct_digits", 0.0));
  }
  metric("pi_job_done", "gauge", "1 once the job is complete", status["done"].is_null() ? 0.0 : 1.0);
  const nlohmann::json& state = status["job_state"];
  if (state["heard_s_ago"].is_number()) {
    metric("pi_job_seconds_since_heard", "gauge", "seconds since the job's last event",
           state["heard_s_ago"].get<double>());
  }
  metric("pi_job_stale", "gauge", "1 when a running job has not been heard of for 2 pulses",
         state["state"] == "stale" ? 1.0 : 0.0);
  return out.str();
}

}  // namespace pi
