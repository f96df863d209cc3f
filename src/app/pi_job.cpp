// pi-job: options, logging and exit codes around the run. Exit 0 on success, 2 for a user's mistake (one
// line on stderr), 1 for a failure of the run itself.
#include <iostream>

#include "app/options.hpp"
#include "app/output.hpp"
#include "coordinator/serial_run.hpp"
#include "series/bigint.hpp"

int main(int argc, char** argv) {
  pi::widen_exponent_range();
  try {
    const pi::ParseOutcome outcome = pi::parse_job_options(std::vector<std::string>(argv + 1, argv + argc));
    if (const auto* print = std::get_if<pi::PrintAndExit>(&outcome)) {
      std::cout << print->text;
      return 0;
    }
    const auto& options = std::get<pi::JobOptions>(outcome);
    pi::prepare_output_dir(options.out_dir);
    pi::check_memory(options.spec);
    const pi::RunResult result = pi::run_serial(options.spec, std::cerr);
    pi::write_outputs(options.out_dir, result, 1);
    std::cerr << "[pi-job] done: " << result.estimate_text << " (" << result.correct_digits
              << " correct digits, error bound " << result.estimates.best().error_bound.to_string() << ") in "
              << result.elapsed_s << " s; wrote " << options.out_dir.string() << std::endl;
    return 0;
  } catch (const pi::ConfigError& e) {
    std::cerr << "pi-job: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "pi-job: error: " << e.what() << std::endl;
    return 1;
  }
}
