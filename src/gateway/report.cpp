#include "gateway/report.hpp"

#include <stdexcept>
#include <string_view>

#include "gateway/assets.hpp"

namespace pi {
namespace {

// `text` with the first `from` replaced by `to`; the template's tags are known, so a missing one is a bug.
void replace_tag(std::string& text, std::string_view from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos) throw std::logic_error("report_html: the page has no " + std::string(from));
  text.replace(at, from.size(), to);
}

std::string asset(std::string_view path) {
  const Asset* a = find_asset(path);
  return a ? std::string(a->content) : std::string();
}

// Inline script text can't hold "</script" (it would end the element): a script has no reason to, and the
// JSON's "<" are written as \u003c.
std::string script(const std::string& body) {
  std::string safe = body;
  for (auto at = safe.find("</script"); at != std::string::npos; at = safe.find("</script", at))
    safe.replace(at, 2, "<\\/");
  return "<script>" + safe + "</script>";
}

}  // namespace

std::string report_html(const nlohmann::json& status) {
  std::string page = asset("/index.html");
  std::string data;
  for (const char c : status.dump()) {
    if (c == '<') {
      data += "\\u003c";
    } else {
      data += c;
    }
  }
  replace_tag(page, R"(<link rel="stylesheet" href="/viewer.css">)",
              "<style>" + asset("/viewer.css") + "</style>");
  replace_tag(page, R"(<link rel="stylesheet" href="/uPlot.min.css">)",
              "<style>" + asset("/uPlot.min.css") + "</style>");
  replace_tag(page, R"(<script src="/uPlot.iife.min.js"></script>)", script(asset("/uPlot.iife.min.js")));
  replace_tag(page, R"(<script src="/viewer.js"></script>)",
              script("window.PI_REPORT = " + data + ";") + script(asset("/viewer.js")));
  replace_tag(page, "<title>pi-hpc: live</title>", "<title>pi-hpc: report</title>");
  return page;
}

void ReportRecorder::send(const Event& event) {
  std::lock_guard lock(mutex_);
  hub_.publish(event);
}

nlohmann::json ReportRecorder::status() const {
  std::lock_guard lock(mutex_);
  return hub_.status();
}

}  // namespace pi
