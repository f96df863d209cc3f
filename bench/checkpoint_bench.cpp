// What checkpoints cost a run: the same chudnovsky job run in this process without checkpoints and with
// checkpoints every INTERVAL seconds, alternating, REPS times each; medians and their ratio, and the time and
// size of every checkpoint written, from which the overhead at the default interval follows.
//   bench/bench_checkpoint [digits=10000000] [reps=3] [interval=1] [dir=/tmp/pi-bench-checkpoint]
// A plain program rather than a Google Benchmark one: a repetition is a whole job of many seconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "timing.hpp"

namespace {

// Times each save of the real store.
class TimedStore final : public pi::StateSink {
 public:
  TimedStore(const std::filesystem::path& dir, std::ostream& log) : store_(dir, 2, log), dir_(dir) {}
  void save(const pi::JobState& state, const std::string& reason) override {
    const auto t0 = std::chrono::steady_clock::now();
    store_.save(state, reason);
    seconds.push_back(pi::seconds_since(t0));
    megabytes.push_back(static_cast<double>(std::filesystem::file_size(pi::checkpoint_path(dir_))) / 1e6);
  }
  std::vector<double> seconds;
  std::vector<double> megabytes;

 private:
  pi::CheckpointStore store_;
  std::filesystem::path dir_;
};

using bench::median;

}  // namespace

int main(int argc, char** argv) {
  pi::widen_exponent_range();
  const std::uint64_t digits = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  const double interval = argc > 3 ? std::atof(argv[3]) : 1.0;
  const std::filesystem::path dir = argc > 4 ? argv[4] : "/tmp/pi-bench-checkpoint";
  const auto series = pi::make_series("chudnovsky");
  pi::JobSpec spec;
  spec.series = "chudnovsky";
  spec.digits = digits;
  spec.progress_interval_s = 0.0;
  spec.checkpoint_interval_s = interval;
  std::vector<double> plain, with;
  std::vector<double> save_s, save_mb;
  for (int i = 0; i < reps; ++i) {
    std::ostringstream quiet;
    {
      pi::LocalExecutor local(*series);
      const auto t0 = std::chrono::steady_clock::now();
      pi::run_job(spec, local, quiet);
      plain.push_back(pi::seconds_since(t0));
    }
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    TimedStore store(dir, quiet);
    pi::LocalExecutor local(*series);
    const auto t0 = std::chrono::steady_clock::now();
    const pi::RunResult r = pi::run_job(spec, local, quiet, pi::JobIo{nullptr, &store, nullptr});
    store.save(r.final_state, "complete");
    with.push_back(pi::seconds_since(t0));
    save_s.insert(save_s.end(), store.seconds.begin(), store.seconds.end());
    save_mb.insert(save_mb.end(), store.megabytes.begin(), store.megabytes.end());
    std::printf("rep %d: %.2f s without checkpoints, %.2f s with %zu checkpoints\n", i + 1, plain.back(),
                with.back(), store.seconds.size());
  }
  std::filesystem::remove_all(dir);
  const double per_save = median(save_s);
  const double biggest = *std::max_element(save_mb.begin(), save_mb.end());
  double mb_per_s = 0;
  for (std::size_t i = 0; i < save_s.size(); ++i)
    mb_per_s += save_mb[i] / save_s[i] / static_cast<double>(save_s.size());
  std::printf("chudnovsky %llu digits, checkpoint every %.1f s, %d reps, in-process (1 rank)\n",
              static_cast<unsigned long long>(digits), interval, reps);
  std::printf("median run: %.2f s without, %.2f s with checkpoints: ratio %.3f\n", median(plain),
              median(with), median(with) / median(plain));
  std::printf("checkpoints: %zu written, median %.3f s each, biggest %.1f MB, mean %.0f MB/s\n",
              save_s.size(), per_save, biggest, mb_per_s);
  const double at_biggest = biggest / mb_per_s;
  std::printf("at the default interval (60 s), the biggest checkpoint costs %.3f s: %.2f%% of the run time\n",
              at_biggest, 100.0 * at_biggest / 60.0);
  return 0;
}
