#include "app/run_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "coordinator/job.hpp"

namespace pi {
namespace {

std::string holder_text() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return "pid " + std::to_string(::getpid()) + " on " + host + ", started " + when;
}

std::string read_holder(int fd) {
  char buf[256] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string text = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  for (char& c : text)
    if (c == '\n' || static_cast<unsigned char>(c) < 0x20) c = ' ';
  return text.empty() ? "another process" : text;
}

}  // namespace

namespace {

// Takes the lock on `fd` without waiting: flock, which a read-only descriptor can hold (so the run keeps no
// file of the directory open for writing); where flock is missing or needs a writable descriptor (NFS maps
// it to POSIX locks), a POSIX lock on a writable descriptor. Returns 0 or the errno.
int lock_exclusively(int& fd, const std::filesystem::path& file) {
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
  if (errno == EWOULDBLOCK) return EWOULDBLOCK;
  const int rw = ::open(file.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (rw < 0) return errno;
  ::close(fd);
  fd = rw;
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  return ::fcntl(fd, F_SETLK, &lock) == 0 ? 0 : errno;
}

}  // namespace

RunLock::RunLock(const std::filesystem::path& dir) : file_(dir / ".pi-job.lock") {
  // A run that ends removes the file; one that opened it just before must then lock the new one instead.
  for (int attempt = 0;; ++attempt) {
    fd_ = ::open(file_.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd_ < 0) {
      throw ConfigError("--out '" + dir.string() + "': cannot open its lock file " + file_.string() + " (" +
                        std::strerror(errno) + ")");
    }
    if (const int err = lock_exclusively(fd_, file_); err != 0) {
      const std::string holder = read_holder(fd_);
      ::close(fd_);
      fd_ = -1;
      if (err == EWOULDBLOCK || err == EACCES || err == EAGAIN) {
        throw ConfigError("--out '" + dir.string() + "' is in use by another pi-job run (" + holder +
                          "); wait for it to end, or give another --out");
      }
      throw ConfigError("--out '" + dir.string() + "': cannot lock " + file_.string() + " (" +
                        std::strerror(err) + ")");
    }
    struct stat held {
    }, named{};
    if (::fstat(fd_, &held) == 0 && ::stat(file_.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
        held.st_dev == named.st_dev) {
      break;
    }
    ::close(fd_);
    fd_ = -1;
    if (attempt == 10) throw ConfigError("--out '" + dir.string() + "': its lock file keeps changing");
  }
  // Who holds it, for the message of a run that is refused. (Closing this descriptor leaves a flock held.)
  // A POSIX lock (the fallback, on a writable descriptor) would be dropped by closing any other descriptor
  // of the file: write through the held one then.
  const std::string text = holder_text() + "\n";
  if ((::fcntl(fd_, F_GETFL) & O_ACCMODE) == O_RDWR) {
    if (::ftruncate(fd_, 0) == 0) {
      [[maybe_unused]] const ssize_t n = ::pwrite(fd_, text.data(), text.size(), 0);
    }
  } else if (const int w = ::open(file_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW); w >= 0) {
    [[maybe_unused]] const ssize_t n = ::write(w, text.data(), text.size());
    ::close(w);
  }
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  ::unlink(file_.c_str());  // while still held: a run that opens it now finds it gone and tries again
  ::close(fd_);
}

}  // namespace pi
