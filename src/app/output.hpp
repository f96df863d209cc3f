// The job's result files: pi.txt and summary.json, each written atomically (temp file, fsync, rename,
// fsync of the directory) so a reader never sees half a file.
#pragma once

#include <filesystem>
#include <string_view>

#include <nlohmann/json.hpp>

#include "coordinator/job.hpp"

namespace pi {

nlohmann::json summary_json(const RunResult& result);
void write_outputs(const std::filesystem::path& dir, const RunResult& result, const std::string& summary);

}  // namespace pi
