#include "checkpoint/durable.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace pi {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

void throw_system_error(const std::string& what, const std::filesystem::path& path) {
  throw std::runtime_error(what + " " + path.string() + ": " + std::strerror(errno));
}

void rename_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    throw_system_error("cannot rename " + from.string() + " to", to);
}

void commit_atomically(const std::filesystem::path& path,
                       const std::function<void(const std::filesystem::path& tmp)>& write,
                       const std::function<void()>& before_rename) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  try {
    write(tmp);
    fsync_file(tmp);
    if (before_rename) before_rename();
    rename_file(tmp, path);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_directory(path.parent_path());
}

void fsync_file(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_system_error("cannot open", path);
  if (::fsync(fd.get()) != 0) throw_system_error("cannot fsync", path);
}

void fsync_directory(const std::filesystem::path& dir) {
  Fd fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw_system_error("cannot open directory", dir);
  if (::fsync(fd.get()) != 0) throw_system_error("cannot fsync directory", dir);
}

void write_file_atomic(const std::filesystem::path& path, std::initializer_list<std::string_view> parts) {
  commit_atomically(path, [parts](const std::filesystem::path& tmp) {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) throw_system_error("cannot create", tmp);
    for (const std::string_view content : parts) {
      for (std::size_t done = 0; done < content.size();) {
        const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw_system_error("cannot write", tmp);
        done += static_cast<std::size_t>(n);
      }
    }
    if (::close(fd.release()) != 0) throw_system_error("cannot close", tmp);
  });
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  write_file_atomic(path, {content});
}

}  // namespace pi
