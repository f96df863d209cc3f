// pi-job's exit codes, and the one place where what ended a job (an exception from any layer) becomes one:
// its code, its line on stderr and its notice on the live page.
#pragma once

#include <exception>
#include <filesystem>
#include <string>

namespace pi {

inline constexpr int kExitDone = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 3;
inline constexpr int kExitBadCheckpoint = 4;
inline constexpr int kExitInterruptedWithoutCheckpoint = 5;

// The "Exit codes:" section of --help, from the same table.
std::string exit_code_help();

struct Ending {
  int code = kExitFailed;
  std::string line;          // what pi-job says on stderr, on one line, after "pi-job: "
  std::string notice_level;  // the live page's notice: "failure", "stopped", or empty for none
  std::string notice_text;
};

// What ended the job in `out_dir`. `launched` says mpirun (or a batch system) started this process: its
// SIGTERM may then stand for a Ctrl-C, which mpirun passes on as SIGTERM.
Ending ending_of(const std::exception_ptr& error, const std::filesystem::path& out_dir, bool launched);

}  // namespace pi
