// Files that survive a crash: written to a temporary name, fsynced, renamed over the real name, and the
// directory fsynced, so that at every moment the real name holds either the old or the new content.
#pragma once

#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

namespace pi {

// Every durable write goes through here. `write` fills the temporary file PATH.tmp (by any means: HDF5,
// bytes); it is fsynced; `before_rename` runs (a checkpoint rotates its older copies there); the temporary
// file is renamed onto PATH and the directory fsynced. On any failure the temporary file is removed and the
// error goes on; PATH then still holds what it held before.
void commit_atomically(const std::filesystem::path& path,
                       const std::function<void(const std::filesystem::path& tmp)>& write,
                       const std::function<void()>& before_rename = {});

// These throw std::runtime_error naming the file and the system's reason (errno).
void write_file_atomic(const std::filesystem::path& path, std::string_view content);
// The same for content in parts, written one after another (no joined copy of a big text).
void write_file_atomic(const std::filesystem::path& path, std::initializer_list<std::string_view> parts);
void fsync_file(const std::filesystem::path& path);
void fsync_directory(const std::filesystem::path& dir);
void rename_file(const std::filesystem::path& from, const std::filesystem::path& to);
[[noreturn]] void throw_system_error(const std::string& what, const std::filesystem::path& path);

}  // namespace pi
