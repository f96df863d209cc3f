// Files that survive a crash: written to a temporary name, fsynced, renamed over the real name, and the
// directory fsynced, so that at every moment the real name holds either the old or the new content.
#pragma once

#include <filesystem>
#include <string_view>

namespace pi {

// Throws std::runtime_error naming the file and the system's reason.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);
void fsync_file(const std::filesystem::path& path);
void fsync_directory(const std::filesystem::path& dir);

}  // namespace pi
