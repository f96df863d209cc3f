// DIR/report.html: the live page as it stood when the job ended, in one self-contained file (styles,
// scripts, the chart library and the job's state, history and timeline inline) that opens from disk with
// no server and no network, like a performance report to keep beside pi.txt.
#pragma once

#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "events/event.hpp"
#include "gateway/hub.hpp"

namespace pi {

// The page for `status` (a Hub::status()).
std::string report_html(const nlohmann::json& status);

// Keeps what a report needs from the job's events: a Hub of its own, fed from any thread.
class ReportRecorder final : public EventOutput {
 public:
  void send(const Event& event) override;
  nlohmann::json status() const;

 private:
  mutable std::mutex mutex_;
  Hub hub_{1};  // (its replay history is for streams, of which a report has none)
};

}  // namespace pi
