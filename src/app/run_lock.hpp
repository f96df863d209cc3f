// One run per output directory: a run holds an exclusive lock on OUT/.pi-job.lock (fcntl, which works on NFS
// and Lustre where HDF5's own locking is often off) from before it reads the checkpoint until it ends. The
// kernel releases the lock when the holder dies, so a stale lock file never blocks a resume; a run that ends
// removes the file.
#pragma once

#include <filesystem>
#include <string>

namespace pi {

class RunLock {
 public:
  // Throws ConfigError naming the holder (host, pid, start time) when another run holds the directory.
  explicit RunLock(const std::filesystem::path& dir);
  ~RunLock();  // removes the lock file and gives the lock up
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  std::filesystem::path file_;
  int fd_ = -1;
};

}  // namespace pi
