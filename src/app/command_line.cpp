#include "app/command_line.hpp"

#include <gmp.h>
#include <mpfr.h>

#include <algorithm>
#include <boost/version.hpp>
#include <cctype>
#include <memory>
#include <utility>

#include "base/config_error.hpp"

namespace pi {

std::uint64_t parse_count(const std::string& flag, const std::string& text, std::uint64_t max) {
  const auto refuse = [&](const std::string& why) {
    return ConfigError(flag + " '" + text + "' is not accepted" + (why.empty() ? "" : " (" + why + ")") +
                       ": give a whole number from 1 to " + std::to_string(max) +
                       ", e.g. 1000000, 1_000_000, 1e6 or 1M");
  };
  // mantissa digits, the position of the point among them, a decimal exponent
  std::string digits;
  std::size_t point = std::string::npos;
  long exponent = 0;
  std::size_t i = 0;
  const std::size_t n = text.size();
  bool separated = false;  // the last character was _ or ,
  for (; i < n; ++i) {
    const char c = text[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits += c;
      separated = false;
    } else if ((c == '_' || c == ',') && !digits.empty() && !separated && point == std::string::npos) {
      separated = true;
    } else if (c == '.' && point == std::string::npos && !separated) {
      point = digits.size();
    } else {
      break;
    }
  }
  if (digits.empty() || separated) throw refuse("");
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < n && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    const std::size_t start = i;
    for (; i < n && std::isdigit(static_cast<unsigned char>(text[i])) && exponent < 1000; ++i)
      exponent = exponent * 10 + (text[i] - '0');
    if (i == start) throw refuse("");
    if (negative) exponent = -exponent;
  } else if (i < n) {
    static const std::string suffixes = "kmgt";
    const auto s = suffixes.find(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))));
    if (s == std::string::npos) throw refuse("");
    exponent = 3 * static_cast<long>(s + 1);
    ++i;
  }
  if (i != n) throw refuse("");
  if (point != std::string::npos) exponent -= static_cast<long>(digits.size() - point);
  // value = digits * 10^exponent, and it must be whole
  while (exponent < 0) {
    if (digits.back() != '0') throw refuse("not a whole number");
    digits.pop_back();
    ++exponent;
    if (digits.empty()) throw refuse("");
  }
  const auto too_large = [&] { return refuse("more than " + std::to_string(max)); };
  std::uint64_t value = 0;
  for (char c : digits) {
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (value > (max - d) / 10) throw too_large();
    value = value * 10 + d;
  }
  for (long e = 0; e < exponent; ++e) {
    if (value == 0) break;
    if (value > max / 10) throw too_large();
    value *= 10;
  }
  if (value == 0) throw refuse("zero");
  return value;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  // Optimal string alignment distance, row by row.
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        current[j] = std::min(current[j], before[j - 2] + 1);
    }
    before = previous;
    previous = current;
  }
  return previous[b.size()];
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = 3;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance && 2 * d < word.size()) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* option : app.get_options())
    for (const auto& name : option->get_lnames()) names.push_back("--" + name);
  return names;
}

std::string unknown_option(const CLI::App& app, const std::vector<std::string>& args,
                           const std::string& program) {
  const std::string help = " (see " + program + " --help)";
  const std::vector<std::string> known = option_names(app);
  for (const auto& arg : args) {
    if (arg == "--") break;
    if (arg.rfind("--", 0) == 0) {
      const std::string name = arg.substr(0, arg.find('='));
      if (std::find(known.begin(), known.end(), name) != known.end()) continue;
      const std::string guess = nearest(name, known);
      return "unknown option '" + name + "'" + (guess.empty() ? "" : ": did you mean " + guess + "?") + help;
    }
    if (arg.size() > 1 && arg[0] == '-' && !std::isdigit(static_cast<unsigned char>(arg[1])) && arg != "-h")
      return "unknown option '" + arg + "': options are long, like --digits 1000" + help;
  }
  return "";
}

std::string parse_error_line(const CLI::App& app, const std::vector<std::string>& args,
                             const CLI::ParseError& e, const std::string& program) {
  if (std::string unknown = unknown_option(app, args, program); !unknown.empty()) return unknown;
  std::string message = e.what();
  if (auto nl = message.find('\n'); nl != std::string::npos) message.resize(nl);
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr)
    message += ": every value follows its option, like --digits 1000";
  return message + " (see " + program + " --help)";
}

namespace {

class UsageFormatter final : public CLI::Formatter {
 public:
  explicit UsageFormatter(std::string usage) : usage_(std::move(usage)) { column_width(34); }
  std::string make_usage(const CLI::App*, std::string) const override { return usage_; }

 private:
  std::string usage_;
};

}  // namespace

void set_usage(CLI::App& app, const std::string& usage) {
  app.formatter(std::make_shared<UsageFormatter>(usage));
}

std::string version_text(const std::string& program, const std::string& more) {
  std::string text = program + " " + PI_HPC_VERSION + "\n";
  text += "  GMP " + std::string(gmp_version) + "\n";
  text += "  MPFR " + std::string(mpfr_get_version()) + "\n";
  text += "  Boost " + std::to_string(BOOST_VERSION / 100000) + "." +
          std::to_string(BOOST_VERSION / 100 % 1000) + "." + std::to_string(BOOST_VERSION % 100) + "\n";
  return text + more;
}

}  // namespace pi
