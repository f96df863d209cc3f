// What both programs' command lines share: counts as people write them, a suggestion for a mistyped
// option, one-line parse errors, and the version with the libraries a binary was built with.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace pi {

// A count of digits or terms as people write it: 1000000, 1_000_000, 1,000,000, 1e6, 2.5e6, 10M (suffixes k,
// M, G, T: powers of 1000, either case). It must be a whole number from 1 to `max`. Throws ConfigError
// naming the flag, the text and the forms accepted.
std::uint64_t parse_count(const std::string& flag, const std::string& text, std::uint64_t max);

// Edit distance (insertions, deletions, substitutions, swaps of neighbours).
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate nearest to `word`, when it is near enough to be what was meant (at most 2 edits, and fewer
// than half of the word); empty otherwise.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

// The long option names of `app` ("--digits", ...).
std::vector<std::string> option_names(const CLI::App& app);

// The first argument that looks like an option of `app` and is none, as a one-line message naming the nearest
// known option; empty when there is none. Checked before parsing, so that a mistyped option is named before
// "--out is required".
std::string unknown_option(const CLI::App& app, const std::vector<std::string>& args,
                           const std::string& program);

// Help output with `usage` (lines ending in newlines) in place of CLI11's "Usage: PROGRAM [OPTIONS]".
void set_usage(CLI::App& app, const std::string& usage);

// One line for a parse error of `program`: an unknown option names the nearest known one, a stray value says
// how options are written. `args` are the arguments as given.
std::string parse_error_line(const CLI::App& app, const std::vector<std::string>& args,
                             const CLI::ParseError& e, const std::string& program);

// "PROGRAM VERSION" and a line per library this binary was built with (GMP, MPFR, HDF5, Boost, and
// `more`, e.g. the MPI library's own version line).
std::string version_text(const std::string& program, const std::string& more = "");

}  // namespace pi
