// pi-gateway: serves the live viewer and fans the job's events out over SSE. Binds 127.0.0.1 unless told
// otherwise; publishing needs the token in --token-file. Exit codes: 0 stopped by SIGINT/SIGTERM; 1 a
// failure; 2 a user's mistake (one line on stderr).
#include <sys/resource.h>

#include <utility>  // before Asio (see gateway.cpp)

#include <CLI/CLI.hpp>
#include <charconv>
#include <iostream>
#include <vector>

#include "app/command_line.hpp"
#include "gateway/gateway.hpp"

namespace {

const char* const kUsage = "usage: pi-gateway --token-file FILE [--listen HOST:PORT] [options]";
const char* const kExamples = R"(Examples:
  head -c 32 /dev/urandom | base64 > token && chmod 600 token
  pi-gateway --token-file token
      serves the live page on http://127.0.0.1:8080/ (this machine only)
  pi-gateway --token-file token --listen 0.0.0.0:8080
      on every interface: for a login node that browsers reach
  pi-job --series chudnovsky --digits 10M --out run --publish http://127.0.0.1:8080 --token-file token
      a job that publishes to it

Exit codes: 0 stopped by SIGINT or SIGTERM; 1 a failure; 2 a mistake in the command line (one line on stderr).
)";

// A count option: digits only, within [lo, hi]; a minus sign or anything else is refused, not wrapped.
std::size_t whole_number(const std::string& flag, const std::string& text, std::size_t lo, std::size_t hi) {
  std::size_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < lo || value > hi) {
    throw pi::GatewayError(flag + " '" + text + "' is not accepted: give a whole number from " +
                           std::to_string(lo) + " to " + std::to_string(hi));
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {  // NOLINT(bugprone-exception-escape): only bad_alloc before the try
  pi::GatewayConfig config;
  std::string listen = "127.0.0.1:8080";
  std::string token_file;
  CLI::App app{"pi-gateway: live pi estimates over Server-Sent Events, and the viewer", "pi-gateway"};
  app.set_config("--config", "", "TOML file; every flag can be set in it")->type_name("FILE");
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.add_option("--listen", listen, "HOST:PORT to listen on (HOST 0.0.0.0 for every interface)")
      ->capture_default_str()
      ->type_name("HOST:PORT");
  app.add_option("--token-file", token_file, "File holding the token publishers must present")
      ->required()
      ->type_name("FILE");
  std::string max_streams_text, history_text, queue_text;
  auto* max_streams =
      app.add_option("--max-streams", max_streams_text,
                     "SSE streams served at once (default: 20000, or what the descriptor limit "
                     "allows when that is less)")
          ->type_name("N");
  app.add_option("--heartbeat", config.heartbeat_s, "Seconds between heartbeat comments")
      ->capture_default_str()
      ->type_name("S");
  app.add_option("--history", history_text, "Events kept for replay (default 4096)")->type_name("N");
  app.add_option("--queue", queue_text, "Frames queued on a stream before it is dropped (default 64)")
      ->type_name("N");
  app.add_option("--request-timeout", config.request_timeout_s, "Seconds an idle non-SSE connection is kept")
      ->capture_default_str()
      ->type_name("S");
  app.set_version_flag("--version", [] { return pi::version_text("pi-gateway"); });
  pi::set_usage(app, std::string(kUsage) + "\n");
  app.footer(kExamples);
  if (argc == 1) {
    std::cerr << kUsage << "\nTry pi-gateway --help for the options and examples." << std::endl;
    return 2;
  }
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (const std::string unknown = pi::unknown_option(app, args, "pi-gateway"); !unknown.empty()) {
    std::cerr << "pi-gateway: " << unknown << std::endl;
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "pi-gateway: " << pi::parse_error_line(app, args, e, "pi-gateway") << std::endl;
    return 2;
  }
  try {
    pi::parse_listen("--listen", listen, config);
    config.token = pi::read_token_file(token_file);
    if (!(config.heartbeat_s >= 0.05 && config.heartbeat_s <= 3600)) {
      throw pi::GatewayError("--heartbeat '" + std::to_string(config.heartbeat_s) +
                             "' is not accepted: give 0.05 to 3600 seconds");
    }
    if (!(config.request_timeout_s >= 0.05 && config.request_timeout_s <= 3600)) {
      throw pi::GatewayError("--request-timeout '" + std::to_string(config.request_timeout_s) +
                             "' is not accepted: give 0.05 to 3600 seconds");
    }
    if (!max_streams_text.empty())
      config.max_streams = whole_number("--max-streams", max_streams_text, 1, 1000000);
    if (!history_text.empty()) config.history = whole_number("--history", history_text, 1, 1000000);
    if (!queue_text.empty()) config.queue_limit = whole_number("--queue", queue_text, 2, 100000);
  } catch (const pi::GatewayError& e) {
    std::cerr << "pi-gateway: " << e.what() << std::endl;
    return 2;
  }
  try {
    // Every stream is a descriptor: take what the hard limit allows.
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      setrlimit(RLIMIT_NOFILE, &files);
    }
    constexpr rlim_t kReserve = 64;  // listener, publishers, the page's requests, the runtime's own
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
        config.max_streams + kReserve > files.rlim_cur) {
      if (max_streams->count() == 0) {
        config.max_streams = files.rlim_cur > 2 * kReserve ? files.rlim_cur - kReserve : kReserve;
      } else {
        std::cerr << "[pi-gateway] warning: --max-streams " << config.max_streams
                  << " needs more descriptors than the limit of " << files.rlim_cur << " allows; past about "
                  << files.rlim_cur - kReserve << " streams new connections wait until one closes"
                  << std::endl;
      }
    }
    pi::Gateway gateway(config);
    gateway.stop_on_signals();
    std::cerr << "[pi-gateway] serving http://" << config.host << ":" << gateway.port()
              << "/ (events at /events)" << std::endl;
    gateway.run();
    std::cerr << "[pi-gateway] stopped" << std::endl;
    return 0;
  } catch (const pi::GatewayError& e) {
    std::cerr << "pi-gateway: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "pi-gateway: error: " << e.what() << std::endl;
    return 1;
  }
}
