#include "app/exit_codes.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <stdexcept>

#include "base/config_error.hpp"
#include "checkpoint/hdf5.hpp"
#include "coordinator/interrupt.hpp"
#include "coordinator/job.hpp"
#include "gateway/gateway.hpp"

namespace pi {
namespace {

template <class E>
Ending ending(const E& e, bool launched = false) {
  return ending_of(std::make_exception_ptr(e), "/scratch/run", launched);
}

// Every exception that can end pi-job maps to the exit code --help documents, with one line to say.
TEST(ExitCodes, EachLayersErrorHasItsCode) {
  EXPECT_EQ(ending(ConfigError("--digits 'x' is not a count")).code, kExitUsage);
  EXPECT_EQ(ending(ConfigError("--digits 'x' is not a count")).line, "--digits 'x' is not a count");
  EXPECT_EQ(ending(GatewayError("address in use\n127.0.0.1:80")).line,
            "--serve: address in use 127.0.0.1:80");
  EXPECT_EQ(ending(GatewayError("x")).code, kExitUsage);
  const Ending bad = ending(CheckpointError("checksum\nfailed"));
  EXPECT_EQ(bad.code, kExitBadCheckpoint);
  EXPECT_EQ(bad.line, "cannot resume: checksum failed");
  EXPECT_TRUE(bad.notice_level.empty());
  RunResult r;
  r.verification.failure = "BBP disagrees";
  const Ending wrong = ending(VerificationFailed(r));
  EXPECT_EQ(wrong.code, kExitFailed);
  EXPECT_NE(wrong.line.find("BBP disagrees; no pi.txt was written"), std::string::npos) << wrong.line;
  EXPECT_EQ(wrong.notice_level, "failure");
  const Ending other = ending(std::runtime_error("out of memory"));
  EXPECT_EQ(other.code, kExitFailed);
  EXPECT_EQ(other.line, "error: out of memory");
}

// A stop: 3 with a checkpoint, 5 without; the line says how to resume, and names mpirun's SIGTERM.
TEST(ExitCodes, StopsSayHowToResume) {
  const Ending stopped = ending(Interrupted(SIGUSR1));
  EXPECT_EQ(stopped.code, kExitInterrupted);
  EXPECT_NE(stopped.line.find("--resume --out /scratch/run (exit code 3)"), std::string::npos)
      << stopped.line;
  EXPECT_EQ(stopped.notice_level, "stopped");
  EXPECT_NE(ending(Interrupted(SIGTERM), true).line.find("from mpirun"), std::string::npos);
  EXPECT_EQ(ending(Interrupted(SIGTERM), false).line.find("from mpirun"), std::string::npos);
  const Ending unsaved = ending(InterruptedUnsaved(SIGTERM));
  EXPECT_EQ(unsaved.code, kExitInterruptedWithoutCheckpoint);
  EXPECT_NE(unsaved.line.find("could not be written"), std::string::npos) << unsaved.line;
}

// --help's list is made from the same table: every code, once.
TEST(ExitCodes, HelpListsEveryCode) {
  const std::string help = exit_code_help();
  for (int code : {kExitDone, kExitFailed, kExitUsage, kExitInterrupted, kExitBadCheckpoint,
                   kExitInterruptedWithoutCheckpoint}) {
    EXPECT_NE(help.find("\n  " + std::to_string(code) + "  "), std::string::npos) << code;
  }
}

}  // namespace
}  // namespace pi
