// The viewer's files, built into the binary so that the page works on a cluster node without internet or
// an install tree (generated at build time from src/gateway/viewer and, when npm had it, uPlot).
#pragma once

#include <string_view>

namespace pi {

struct Asset {
  std::string_view path;  // "/index.html"
  std::string_view content_type;
  std::string_view content;
};

// nullptr when no file has that path.
const Asset* find_asset(std::string_view path);

}  // namespace pi
