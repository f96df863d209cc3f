#include "app/exit_codes.hpp"

#include <csignal>
#include <stdexcept>
#include <utility>

#include "base/config_error.hpp"
#include "checkpoint/checkpoint.hpp"
#include "coordinator/interrupt.hpp"
#include "coordinator/job.hpp"
#include "gateway/gateway.hpp"

namespace pi {
namespace {

struct ExitCodeMeaning {
  int code;
  const char* meaning;
};

constexpr ExitCodeMeaning kMeanings[] = {
    {kExitDone, "done (or already complete)"},
    {kExitFailed, "the run failed, or its result failed verification (no pi.txt; see summary.json)"},
    {kExitUsage, "a mistake in the command line or job file (one line on stderr; nothing was written)"},
    {kExitInterrupted,
     "stopped by SIGINT, SIGTERM, SIGHUP or SIGUSR1 after writing a checkpoint (resume with --resume)"},
    {kExitBadCheckpoint,
     "the checkpoint to resume from was refused (damaged, or another job's); every file is untouched"},
    {kExitInterruptedWithoutCheckpoint,
     "stopped by a signal, but the checkpoint could not be written (the previous one is kept)"},
};

// HDF5's and the system's texts may hold newlines.
std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

}  // namespace

std::string exit_code_help() {
  std::string text = "Exit codes:\n";
  for (const ExitCodeMeaning& m : kMeanings) text += "  " + std::to_string(m.code) + "  " + m.meaning + "\n";
  return text;
}

Ending ending_of(const std::exception_ptr& error, const std::filesystem::path& out_dir, bool launched) {
  try {
    std::rethrow_exception(error);
  } catch (const ConfigError& e) {
    return {kExitUsage, e.what(), "", ""};
  } catch (const GatewayError& e) {
    return {kExitUsage, "--serve: " + one_line(e.what()), "", ""};
  } catch (const CheckpointError& e) {
    return {kExitBadCheckpoint, "cannot resume: " + one_line(e.what()), "", ""};
  } catch (const VerificationFailed& e) {
    // Not a result: the report is in summary.json and on the page; the last checkpoint stays as it was.
    return {kExitFailed, std::string(e.what()) + "; no pi.txt was written (see summary.json)", "failure",
            e.what()};
  } catch (const InterruptedUnsaved& e) {
    return {kExitInterruptedWithoutCheckpoint,
            std::string(e.what()) + ", but its checkpoint could not be written (see above); the previous " +
                "checkpoint, if any, is kept (exit code " +
                std::to_string(kExitInterruptedWithoutCheckpoint) + ")",
            "stopped", std::string(e.what()) + "; its checkpoint could not be written"};
  } catch (const Interrupted& e) {
    // A rank can't tell mpirun's SIGTERM for a Ctrl-C from any other.
    const bool from_launcher = launched && e.signal() == SIGTERM;
    return {kExitInterrupted,
            std::string(e.what()) +
                (from_launcher ? " (from mpirun or the batch system: Ctrl-C, scancel, kill)" : "") +
                "; resume the job with --resume --out " + out_dir.string() + " (exit code " +
                std::to_string(kExitInterrupted) + ")",
            "stopped", std::string(e.what()) + "; the job can be resumed from its checkpoint"};
  } catch (const std::exception& e) {
    return {kExitFailed, "error: " + one_line(e.what()), "failure", e.what()};
  } catch (...) {
    return {kExitFailed, "error: an unknown exception", "failure", "an unknown exception"};
  }
}

}  // namespace pi
