#include "coordinator/conversion.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "checkpoint/durable.hpp"
#include "series/decimal.hpp"

namespace pi {
namespace {

// Hands out the decimals of fraction / 2^scale_bits, in blocks, and ticks once: progress says how many (a
// one-lane run ticks only after each block).
void start_conversion(Scheduler& scheduler, const Executor& executor, const PieceRef& fraction,
                      std::uint64_t scale_bits, std::uint64_t digits, const std::function<void()>& tick) {
  const std::uint64_t decimals = digits + kGuardDecimals;
  scheduler.convert(fraction, scale_bits, decimals,
                    Scheduler::conversion_blocks(decimals, static_cast<std::uint64_t>(executor.lanes())));
  tick();
}

// The decimals of fraction / 2^scale_bits, in blocks.
std::string convert_fraction(Scheduler& scheduler, Executor& executor, const PieceRef& fraction,
                             std::uint64_t scale_bits, std::uint64_t digits,
                             const std::function<void()>& tick) {
  start_conversion(scheduler, executor, fraction, scale_bits, digits, tick);
  executor.run(scheduler, tick);
  return scheduler.take_digits();
}

// A file written at offsets, closed with its descriptor.
class OffsetFile {
 public:
  OffsetFile(std::filesystem::path path, int flags) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), flags | O_CLOEXEC, 0644);
    if (fd_ < 0) throw_system_error("cannot open", path_);
  }
  ~OffsetFile() { ::close(fd_); }
  OffsetFile(const OffsetFile&) = delete;
  OffsetFile& operator=(const OffsetFile&) = delete;
  void write(std::string_view bytes, std::uint64_t offset) {
    while (!bytes.empty()) {
      const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw_system_error("cannot write", path_);
      bytes.remove_prefix(static_cast<std::size_t>(n));
      offset += static_cast<std::uint64_t>(n);
    }
  }
  void truncate(std::uint64_t size) {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) throw_system_error("cannot truncate", path_);
  }
  void sync() {
    if (::fsync(fd_) != 0) throw_system_error("cannot fsync", path_);
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace

std::optional<std::string> convert_in_blocks(Scheduler& scheduler, Executor& executor, const Estimate& best,
                                             std::uint64_t digits, const std::function<void()>& tick) {
  BigInt f;
  const mpfr_exp_t exponent = mpfr_get_z_2exp(raw(f), raw(best.value));  // x = f 2^exponent, exactly
  if (exponent > 0 || mpz_sgn(raw(f)) < 0) return std::nullopt;
  const PieceRef fraction = PieceRef::held_here(
      std::make_shared<PartialResult>(PartialResult{Range{}, moved_values(std::move(f))}));
  return convert_fraction(scheduler, executor, fraction, static_cast<std::uint64_t>(-exponent), digits, tick);
}

std::optional<std::string> convert_held(Scheduler& scheduler, Executor& executor, std::uint64_t digits,
                                        const std::function<void()>& tick) {
  const FinalSummary& summary = *scheduler.final_summary();
  if (!summary.convertible) return std::nullopt;
  return convert_fraction(scheduler, executor, *scheduler.final_fraction(), summary.scale_bits, digits, tick);
}

std::optional<WrittenDecimals> convert_held_to_file(Scheduler& scheduler, Executor& executor,
                                                    std::uint64_t digits, const std::filesystem::path& file,
                                                    const std::function<void()>& tick) {
  const FinalSummary& summary = *scheduler.final_summary();
  const std::size_t point = summary.head.find('.');
  if (!summary.convertible || point == std::string::npos) return std::nullopt;
  const std::uint64_t decimals = digits + kGuardDecimals;
  WrittenDecimals written{point, 0};
  std::uint64_t arrived = 0;  // decimals written
  OffsetFile out(file, O_WRONLY | O_CREAT | O_TRUNC);
  // Block 0 begins with the integer part, before which the point goes; block k at its first decimal.
  const auto drain = [&] {
    for (auto& [first, text] : scheduler.take_finished_blocks()) {
      std::string_view rest = text;
      if (first == 0) {
        if (text.size() < point) throw std::runtime_error("a conversion block without the integer part");
        out.write(rest.substr(0, point), 0);
        out.write(".", point);
        rest.remove_prefix(point);
      }
      out.write(rest, point + 1 + first);
      arrived += rest.size();
      if (first + rest.size() == decimals && rest.size() >= kGuardDecimals)
        written.guard = std::stoull(std::string(rest.substr(rest.size() - kGuardDecimals)));
    }
  };
  start_conversion(scheduler, executor, *scheduler.final_fraction(), summary.scale_bits, digits, tick);
  executor.run(scheduler, [&] {
    drain();
    tick();
  });
  drain();
  if (arrived != decimals) {
    throw std::runtime_error("the conversion wrote " + std::to_string(arrived) + " decimals of " +
                             std::to_string(decimals));
  }
  return written;
}

void finish_decimals_file(const std::filesystem::path& file, const WrittenDecimals& written,
                          std::uint64_t digits) {
  OffsetFile out(file, O_WRONLY);
  const std::uint64_t size = written.point + 1 + digits;
  out.truncate(size);
  out.write("\n", size);
  out.sync();
}

}  // namespace pi
