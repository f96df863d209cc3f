#include "checkpoint/checkpoint.hpp"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <thread>

#include "checkpoint/durable.hpp"
#include "coordinator/grid.hpp"
#include "coordinator/progress.hpp"

namespace pi {
namespace {

constexpr const char* kCheckpointFormat = "pi-hpc checkpoint";
constexpr const char* kResultFormat = "pi-hpc result";

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string piece_name(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "piece_%06zu", i);
  return buf;
}

// A value's magnitude, least significant byte first (one zero byte for zero), without a copy: GMP's limbs
// are those bytes on a little-endian machine.
std::span<const std::uint8_t> magnitude_view(const BigInt& v) {
  static_assert(std::endian::native == std::endian::little, "limbs are read as little-endian bytes");
  static constexpr std::uint8_t kZero = 0;
  if (mpz_sgn(raw(v)) == 0) return {&kZero, 1};
  return {reinterpret_cast<const std::uint8_t*>(mpz_limbs_read(raw(v))), (mpz_sizeinbase(raw(v), 2) + 7) / 8};
}

// A piece's group: its grid ranges and terms, and its values (magnitude bytes, attribute `negative`).
void write_piece_group(const h5::Handle& g, std::uint64_t first_range, std::uint64_t end_range,
                       const PartialResult& r) {
  h5::write_attribute(g, "first_range", first_range);
  h5::write_attribute(g, "end_range", end_range);
  h5::write_attribute(g, "term_begin", r.range.begin);
  h5::write_attribute(g, "term_end", r.range.end);
  h5::write_attribute(g, "values", static_cast<std::uint64_t>(r.values.size()));
  for (std::size_t k = 0; k < r.values.size(); ++k) {
    const BigInt& v = r.values[k];
    const h5::Handle d = h5::write_bytes(g, "value_" + std::to_string(k), magnitude_view(v));
    h5::write_attribute(d, "negative", static_cast<std::uint64_t>(v < 0 ? 1 : 0));
  }
}

// A piece file's name as a checkpoint names it: pieces/NAME, nothing else (no other directory, no "..").
bool plausible_piece_file(const std::string& file) {
  if (!file.starts_with("pieces/")) return false;
  const std::string leaf = file.substr(7);
  return stored_piece_number(leaf).has_value() && leaf.find('/') == std::string::npos;
}

BigInt from_magnitude(const std::vector<std::uint8_t>& bytes, bool negative) {
  BigInt v;
  mpz_import(raw(v), bytes.size(), -1, 1, 0, 0, bytes.data());
  if (negative) mpz_neg(raw(v), raw(v));
  return v;
}

std::string file_kind(std::filesystem::file_type t) {
  switch (t) {
    case std::filesystem::file_type::directory:
      return "a directory";
    case std::filesystem::file_type::fifo:
      return "a fifo";
    case std::filesystem::file_type::socket:
      return "a socket";
    case std::filesystem::file_type::block:
      return "a block device";
    case std::filesystem::file_type::character:
      return "a character device";
    default:
      return "not a file";
  }
}

// The number of values a piece of `series` has: a left operand keeps one more (P) than a suffix may.
bool plausible_value_count(const Series& series, std::size_t values) {
  const Range one{0, 1};
  return values == series.evaluate(one, false).values.size() ||
         values == series.evaluate(one, true).values.size();
}

void write_parameters(const h5::Handle& root, const JobState& s) {
  h5::write_attribute(root, "series", s.series);
  h5::write_attribute(root, "mode", std::string(s.digits ? "digits" : "terms"));
  if (s.digits) h5::write_attribute(root, "digits", *s.digits);
  if (s.requested_terms) h5::write_attribute(root, "requested_terms", *s.requested_terms);
  h5::write_attribute(root, "terms", s.terms);
  h5::write_attribute(root, "grid_ranges", s.grid_ranges);
  h5::write_attribute(root, "grid_step", s.grid_step);
}

std::vector<FinishedPiece> read_ledger(const h5::Handle& root, const Grid& grid) {
  const std::vector<std::uint64_t> rows = h5::read_u64_table(root, "ledger", 4);
  const h5::Handle d = h5::open_checked_dataset(root, "ledger_values");
  const std::vector<std::uint8_t> bytes = h5::read_dataset_bytes(d, "ledger_values");
  std::vector<FinishedPiece> out;
  std::size_t at = 0;
  for (std::size_t i = 0; i + 4 <= rows.size(); i += 4) {
    const std::uint64_t first = rows[i], last = rows[i + 1], size = rows[i + 2];
    if (last <= first || last > grid.size() || size > bytes.size() - at || rows[i + 3] > 1)
      throw CheckpointError("ledger row " + std::to_string(i / 4) + " does not fit the grid or the values");
    PartialResult r;
    r.range = grid.span(first, last);
    r.values.push_back(
        from_magnitude(std::vector<std::uint8_t>(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                                                 bytes.begin() + static_cast<std::ptrdiff_t>(at + size)),
                       rows[i + 3] != 0));
    at += size;
    out.push_back(FinishedPiece{first, last, std::make_shared<PartialResult>(std::move(r))});
  }
  if (at != bytes.size()) throw CheckpointError("ledger_values holds more than the ledger's rows");
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first_range < b.first_range; });
  return out;
}

// The pieces are exactly the sums of the ledger's entries they cover (a sum altered alone is refused).
void check_ledger(const Series& series, const std::vector<FinishedPiece>& ledger,
                  const std::vector<FinishedPiece>& pieces) {
  std::size_t e = 0;
  for (const FinishedPiece& p : pieces) {
    std::optional<PartialResult> sum;
    std::uint64_t at = p.first_range;
    for (; e < ledger.size() && ledger[e].first_range < p.end_range; ++e) {
      if (ledger[e].first_range != at) break;
      sum = sum ? series.combine(*sum, *ledger[e].result) : *ledger[e].result;
      at = ledger[e].end_range;
    }
    if (at != p.end_range || !sum || sum->values != p.result->values) {
      throw CheckpointError("the piece of ranges " + std::to_string(p.first_range) + ".." +
                            std::to_string(p.end_range) + " is not the sum of the ledger's results for them");
    }
  }
  if (e != ledger.size()) throw CheckpointError("the ledger holds results no piece covers");
}

// "p1 p2 ...": primes of about 62 bits, or a refusal of the file.
std::vector<std::uint64_t> parse_primes(const std::string& text) {
  std::vector<std::uint64_t> out;
  std::istringstream in(text);
  for (std::string word; in >> word;) {
    std::uint64_t p = 0;
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), p);
    BigInt z = p;
    if (ec != std::errc() || end != word.data() + word.size() || p >> 61 != 1 ||
        mpz_probab_prime_p(raw(z), 25) == 0 || out.size() == 16) {
      throw CheckpointError("fingerprint_primes '" + text + "' are not primes in [2^61, 2^62)");
    }
    out.push_back(p);
  }
  return out;
}

}  // namespace

std::filesystem::path checkpoint_path(const std::filesystem::path& dir, int generation) {
  return dir / (generation == 0 ? std::string("checkpoint.h5")
                                : "checkpoint." + std::to_string(generation) + ".h5");
}

CheckpointStore::CheckpointStore(std::filesystem::path dir, int keep, std::ostream& log)
    : dir_(std::move(dir)), keep_(keep), log_(log) {
  stall_ = CheckpointStall::from_environment();
}

void CheckpointStore::write(const std::filesystem::path& file, const JobState& state,
                            const std::string& reason) {
  h5::Handle f = h5::create_file(file);
  {
    const h5::Handle root = h5::open_group(f, "/");
    h5::write_attribute(root, "format", std::string(kCheckpointFormat));
    h5::write_attribute(root, "format_version", kCheckpointFormatVersion);
    h5::write_attribute(root, "program_version", std::string(PI_HPC_VERSION));
    write_parameters(root, state);
    h5::write_attribute(root, "status", std::string(state.complete ? "complete" : "running"));
    h5::write_attribute(root, "ranges_done", state.ranges_done);
    h5::write_attribute(root, "retries", state.retries);
    h5::write_attribute(root, "resumes", state.resumes);
    h5::write_attribute(root, "checkpoints", state.checkpoints);
    h5::write_attribute(root, "last_event_id", state.last_event_id);
    h5::write_attribute(root, "job_id", state.job_id);
    h5::write_attribute(root, "elapsed_s", state.elapsed_s);
    h5::write_attribute(root, "written_at", utc_now());
    h5::write_attribute(root, "reason", reason);
    h5::write_attribute(root, "settings", state.settings);
    std::string primes;
    for (std::uint64_t p : state.fingerprint_primes) {
      if (!primes.empty()) primes += ' ';
      primes += std::to_string(p);
    }
    h5::write_attribute(root, "fingerprint_primes", primes);

    std::vector<std::uint64_t> ranges, terms, files;
    for (std::size_t i = 0; i < state.pieces.size(); ++i) {
      const FinishedPiece& p = state.pieces[i];
      const Range r = p.file ? p.file->range : p.result->range;
      ranges.insert(ranges.end(), {p.first_range, p.end_range});
      terms.insert(terms.end(), {r.begin, r.end});
      if (p.file) files.insert(files.end(), {i, p.file->bytes, p.file->crc32});
    }
    h5::write_u64_table(root, "completed_ranges", 2, ranges);
    h5::write_u64_table(root, "completed_terms", 2, terms);
    // Pieces their workers wrote to files of their own: (piece, the file's bytes, its CRC-32).
    if (!files.empty()) h5::write_u64_table(root, "piece_files", 3, files);

    if (!state.ledger.empty()) {
      // Slow series: the results as the workers returned them, one row each (first range, end range,
      // bytes, negative) and their magnitudes one after another.
      std::vector<std::uint64_t> rows;
      std::vector<std::uint8_t> bytes;
      for (const FinishedPiece& e : state.ledger) {
        const BigInt& v = e.result->values.at(0);
        const std::span<const std::uint8_t> m = magnitude_view(v);
        rows.insert(rows.end(), {e.first_range, e.end_range, m.size(), v < 0 ? 1u : 0u});
        bytes.insert(bytes.end(), m.begin(), m.end());
      }
      h5::write_u64_table(root, "ledger", 4, rows);
      h5::write_bytes(root, "ledger_values", bytes);
    }
    const h5::Handle pieces = h5::create_group(root, "pieces");
    for (std::size_t i = 0; i < state.pieces.size(); ++i) {
      if (stall_.due(saves_, i, state.pieces.size())) {
        h5::flush(f);  // what is written so far is on disk when the test kills the job in the stall
        stall_.stall(saves_, log_);
      }
      const FinishedPiece& p = state.pieces[i];
      if (p.file) {
        h5::create_external_link(pieces, piece_name(i), p.file->file, "/piece");
      } else {
        write_piece_group(h5::create_group(pieces, piece_name(i)), p.first_range, p.end_range, *p.result);
      }
    }
  }
  f.close("cannot close " + file.string());
}

void CheckpointStore::rotate() {
  if (keep_ < 2 || !std::filesystem::exists(checkpoint_path(dir_))) return;
  for (int k = keep_ - 1; k >= 2; --k) {
    if (std::filesystem::exists(checkpoint_path(dir_, k - 1))) {
      rename_file(checkpoint_path(dir_, k - 1), checkpoint_path(dir_, k));
    }
  }
  // A second name for the current checkpoint, so that checkpoint.h5 itself exists at every moment.
  const std::filesystem::path previous = checkpoint_path(dir_, 1);
  const std::filesystem::path link_tmp = previous.string() + ".tmp";
  ::unlink(link_tmp.c_str());
  if (::link(checkpoint_path(dir_).c_str(), link_tmp.c_str()) == 0) {
    rename_file(link_tmp, previous);
  } else {
    // No hard links here (some network file systems): a short moment without checkpoint.h5 instead.
    rename_file(checkpoint_path(dir_), previous);
  }
}

void CheckpointStore::save(const JobState& state, const std::string& reason) {
  ++saves_;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    commit_atomically(
        checkpoint_path(dir_), [&](const std::filesystem::path& tmp) { write(tmp, state, reason); },
        [this] { rotate(); });
  } catch (const std::exception& e) {
    throw CheckpointError("cannot write " + checkpoint_path(dir_).string() + ": " + e.what());
  }
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(checkpoint_path(dir_), ec);
  std::uint64_t files = 0;
  double file_bytes = 0;
  for (const FinishedPiece& p : state.pieces) {
    if (!p.file) continue;
    ++files;
    file_bytes += static_cast<double>(p.file->bytes);
  }
  char line[320];
  std::snprintf(
      line, sizeof line, "[pi-job] checkpoint %llu written (%s): %llu/%llu ranges, %.1f MB in %.2f s",
      static_cast<unsigned long long>(state.checkpoints), reason.c_str(),
      static_cast<unsigned long long>(state.ranges_done), static_cast<unsigned long long>(state.grid_ranges),
      ec ? 0.0 : static_cast<double>(bytes) / 1e6, seconds_since(t0));
  log_ << line;
  if (files > 0) {
    std::snprintf(line, sizeof line, ", naming %llu piece file%s of %.1f MB written before it",
                  static_cast<unsigned long long>(files), files == 1 ? "" : "s", file_bytes / 1e6);
    log_ << line;
  }
  log_ << std::endl;
  collect_piece_files(state.checkpoints);
}

std::optional<std::filesystem::path> CheckpointStore::piece_directory() const {
  return std::filesystem::absolute(dir_);
}

std::optional<StoredPiece> CheckpointStore::store_piece(std::uint64_t number, std::uint64_t first_range,
                                                        std::uint64_t end_range, const PartialResult& piece) {
  // Capture 0: PieceCapture numbers its captures from 1, so no worker's file has this name.
  const StoreRequest request{number,
                             -1,
                             0,
                             first_range,
                             end_range,
                             std::filesystem::absolute(dir_).string(),
                             stored_piece_name(number, 0, first_range, end_range)};
  return write_piece_file(request, piece);
}

void CheckpointStore::collect_piece_files(std::uint64_t number) {
  const std::filesystem::path pieces_dir = dir_ / "pieces";
  std::error_code ec;
  if (!std::filesystem::is_directory(pieces_dir, ec)) return;
  // The files every checkpoint here names (the newest, the older ones, one set aside as rejected).
  std::set<std::string> named;
  try {
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (!name.starts_with("checkpoint") || name.ends_with(".tmp") || !entry.is_regular_file()) continue;
      const h5::Handle f = h5::open_file_readonly(entry.path());
      const h5::Handle root = h5::open_group(f, "/");
      if (!h5::has_link(root, "pieces")) continue;
      const h5::Handle pieces = h5::open_group(root, "pieces");
      for (const std::string& piece : h5::group_members(pieces))
        if (auto file = h5::external_link_file(pieces, piece)) named.insert(*file);
    }
  } catch (const std::exception& e) {
    log_ << "[pi-job] piece files kept: a checkpoint could not be read (" << e.what() << ")" << std::endl;
    return;
  }
  for (const auto& entry : std::filesystem::directory_iterator(pieces_dir, ec)) {
    std::string leaf = entry.path().filename().string();
    const bool temporary = leaf.ends_with(".tmp");
    if (temporary) leaf.resize(leaf.size() - 4);
    const auto n = stored_piece_number(leaf);
    if (!n || *n > number || (!temporary && named.contains("pieces/" + leaf))) continue;
    std::filesystem::remove(entry.path(), ec);
  }
}

StoredPiece write_piece_file(const StoreRequest& request, const PartialResult& piece) {
  const std::filesystem::path path = std::filesystem::path(request.dir) / request.file;
  try {
    std::filesystem::create_directories(path.parent_path());
    commit_atomically(path, [&](const std::filesystem::path& tmp) {
      h5::Handle f = h5::create_file(tmp);
      {
        const h5::Handle root = h5::open_group(f, "/");
        h5::write_attribute(root, "format", std::string("pi-hpc checkpoint piece"));
        h5::write_attribute(root, "program_version", std::string(PI_HPC_VERSION));
        write_piece_group(h5::create_group(root, "piece"), request.first_range, request.end_range, piece);
      }
      f.close("cannot close " + tmp.string());
    });
  } catch (const std::exception& e) {
    throw CheckpointError("cannot write " + path.string() + ": " + e.what());
  }
  return StoredPiece{request.file, piece.range, piece.values.size(), std::filesystem::file_size(path),
                     file_crc32(path)};
}

std::uint32_t file_crc32(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError("cannot read " + path.string());
  std::vector<char> buf(std::size_t{1} << 20);
  uLong crc = crc32(0L, Z_NULL, 0);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<uInt>(in.gcount());
    if (n > 0) crc = crc32(crc, reinterpret_cast<const Bytef*>(buf.data()), n);
  }
  if (in.bad()) throw CheckpointError("cannot read " + path.string());
  return static_cast<std::uint32_t>(crc);
}

namespace {

// Values value_0 .. value_{count - 1} of a piece's group, each checked by HDF5 (Fletcher32) as it is read.
std::vector<BigInt> read_piece_values(const h5::Handle& g, std::uint64_t count) {
  std::vector<BigInt> values;
  values.reserve(count);
  for (std::uint64_t k = 0; k < count; ++k) {
    const std::string vname = "value_" + std::to_string(k);
    const h5::Handle d = h5::open_checked_dataset(g, vname);
    const std::vector<std::uint8_t> bytes = h5::read_dataset_bytes(d, vname);
    values.push_back(from_magnitude(bytes, h5::read_u64_attribute(d, "negative") != 0));
  }
  return values;
}

}  // namespace

PartialResult read_piece_file(const Load& load) {
  const std::filesystem::path path(load.path);
  try {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(std::filesystem::status(path, ec)))
      throw CheckpointError("no such file here");
    const std::uint64_t size = std::filesystem::file_size(path);
    const std::uint32_t crc = file_crc32(path);
    if (size != load.bytes || crc != load.crc32) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%llu bytes and CRC-32 %08x, the checkpoint says %llu and %08x",
                    static_cast<unsigned long long>(size), crc, static_cast<unsigned long long>(load.bytes),
                    static_cast<unsigned>(load.crc32));
      throw CheckpointError(buf);
    }
    const h5::Handle f = h5::open_file_readonly(path);
    const h5::Handle g = h5::open_group(f, "piece");
    PartialResult r;
    r.range = Range{h5::read_u64_attribute(g, "term_begin"), h5::read_u64_attribute(g, "term_end")};
    const std::uint64_t values = h5::read_u64_attribute(g, "values");
    if (r.range != load.range || values != load.values)
      throw CheckpointError("it holds " + std::to_string(values) + " values of terms [" +
                            std::to_string(r.range.begin) + ", " + std::to_string(r.range.end) + "), not " +
                            std::to_string(load.values) + " of [" + std::to_string(load.range.begin) + ", " +
                            std::to_string(load.range.end) + ")");
    r.values = read_piece_values(g, values);
    return r;
  } catch (const std::exception& e) {
    throw CheckpointError("piece file " + path.string() + ": " + e.what());
  }
}

JobState read_checkpoint(const std::filesystem::path& file, PieceValues values_in_files) {
  // Only a regular file: HDF5 would wait for ever on a fifo, and throw raw errors for the rest.
  std::error_code ec;
  const auto entry = std::filesystem::status(file, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw CheckpointError(file.string() + ": " + ec.message());
  if (!std::filesystem::exists(entry)) throw CheckpointError(file.string() + ": no such file");
  if (!std::filesystem::is_regular_file(entry))
    throw CheckpointError(file.string() + ": not a regular file (" + file_kind(entry.type()) + ")");
  try {
    JobState s;
    const h5::Handle f = h5::open_file_readonly(file);
    const h5::Handle root = h5::open_group(f, "/");
    if (!h5::has_attribute(root, "format") ||
        h5::read_string_attribute(root, "format") != kCheckpointFormat) {
      throw CheckpointError("not a pi-hpc checkpoint (no format attribute '" +
                            std::string(kCheckpointFormat) + "')");
    }
    const std::uint64_t version = h5::read_u64_attribute(root, "format_version");
    if (version != kCheckpointFormatVersion) {
      throw CheckpointError("unknown format version " + std::to_string(version) + "; this pi-job (" +
                            PI_HPC_VERSION + ") reads version " + std::to_string(kCheckpointFormatVersion));
    }
    s.series = h5::read_string_attribute(root, "series");
    std::unique_ptr<Series> series;
    try {
      series = make_series(s.series);
    } catch (const SeriesError&) {
      throw CheckpointError("unknown series '" + s.series + "'");
    }
    const std::string mode = h5::read_string_attribute(root, "mode");
    if (mode == "digits") {
      s.digits = h5::read_u64_attribute(root, "digits");
    } else if (mode == "terms") {
      s.requested_terms = h5::read_u64_attribute(root, "requested_terms");
    } else {
      throw CheckpointError("unknown mode '" + mode + "'");
    }
    s.terms = h5::read_u64_attribute(root, "terms");
    s.grid_ranges = h5::read_u64_attribute(root, "grid_ranges");
    s.grid_step = h5::read_u64_attribute(root, "grid_step");
    if (s.terms == 0 || s.terms > series->max_terms()) {
      throw CheckpointError("terms " + std::to_string(s.terms) + " out of range for " + s.series);
    }
    // The terms follow from the parameters (digits mode may have added some, never removed any).
    if (s.digits) {
      const auto needed = series->terms_for_digits(*s.digits);
      if (!needed || s.terms < *needed) {
        throw CheckpointError(
            "its " + std::to_string(s.terms) + " terms of " + s.series + " can't give " +
            std::to_string(*s.digits) + " digits (" +
            (needed ? "they need " + std::to_string(*needed) : std::string("out of reach")) +
            "): its parameters disagree with each other");
      }
    } else if (s.requested_terms != s.terms) {
      throw CheckpointError("it asks for " + std::to_string(s.requested_terms.value_or(0)) +
                            " terms but holds a grid of " + std::to_string(s.terms) +
                            ": its parameters disagree with each other");
    }
    const Grid grid(*series, s.terms);
    if (grid.size() != s.grid_ranges || grid.step() != s.grid_step) {
      throw CheckpointError("its range grid (" + std::to_string(s.grid_ranges) + " ranges of step " +
                            std::to_string(s.grid_step) + ") is not the grid this pi-job makes for " +
                            std::to_string(s.terms) + " terms (" + std::to_string(grid.size()) + " ranges)");
    }
    const std::string status = h5::read_string_attribute(root, "status");
    if (status != "running" && status != "complete") throw CheckpointError("unknown status '" + status + "'");
    s.complete = status == "complete";
    s.ranges_done = h5::read_u64_attribute(root, "ranges_done");
    s.retries = h5::read_u64_attribute(root, "retries");
    s.resumes = h5::read_u64_attribute(root, "resumes");
    s.checkpoints = h5::read_u64_attribute(root, "checkpoints");
    s.last_event_id = h5::read_u64_attribute(root, "last_event_id");
    s.elapsed_s = h5::read_f64_attribute(root, "elapsed_s");
    if (h5::has_attribute(root, "settings")) s.settings = h5::read_string_attribute(root, "settings");
    if (h5::has_attribute(root, "job_id")) s.job_id = h5::read_string_attribute(root, "job_id");
    if (h5::has_attribute(root, "fingerprint_primes")) {
      s.fingerprint_primes = parse_primes(h5::read_string_attribute(root, "fingerprint_primes"));
      if (!s.fingerprint_primes.empty() && !series->fingerprinted())
        throw CheckpointError("fingerprint_primes given for " + s.series + ", which has no fingerprints");
    }
    // Every piece is checked against its fingerprint, predicted from the series' terms, modulo primes
    // drawn now (not those of the file): a piece altered consistently, its checksums recomputed, is refused.
    const std::vector<std::uint64_t> check_primes =
        series->fingerprinted() ? draw_primes(2) : std::vector<std::uint64_t>{};

    const std::vector<std::uint64_t> ranges = h5::read_u64_table(root, "completed_ranges", 2);
    const std::vector<std::uint64_t> terms = h5::read_u64_table(root, "completed_terms", 2);
    const h5::Handle pieces = h5::open_group(root, "pieces");
    const std::size_t n = ranges.size() / 2;
    if (terms.size() != ranges.size() || h5::group_members(pieces).size() != n) {
      throw CheckpointError("completed_ranges, completed_terms and pieces disagree on the number of pieces");
    }
    // Pieces in files their workers wrote: each named with its size and CRC-32, which must match.
    std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> sums;  // piece -> (bytes, CRC-32)
    if (h5::has_link(root, "piece_files")) {
      const std::vector<std::uint64_t> rows = h5::read_u64_table(root, "piece_files", 3);
      for (std::size_t r = 0; r + 3 <= rows.size(); r += 3) {
        if (rows[r] >= n || rows[r + 2] > 0xffffffffu ||
            !sums.emplace(rows[r], std::pair(rows[r + 1], rows[r + 2])).second)
          throw CheckpointError("piece_files row " + std::to_string(r / 3) + " names no piece, or one twice");
      }
    }
    std::uint64_t done = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string name = piece_name(i);
      FinishedPiece p;
      if (const auto target = h5::external_link_file(pieces, name)) {
        const auto sum = sums.find(i);
        if (!plausible_piece_file(*target) || sum == sums.end()) {
          throw CheckpointError("pieces/" + name + " links to '" + *target +
                                "', which is no piece file this checkpoint names in piece_files");
        }
        const std::filesystem::path path = file.parent_path() / *target;
        std::error_code fec;
        if (!std::filesystem::is_regular_file(std::filesystem::status(path, fec)))
          throw CheckpointError("pieces/" + name + ": its file " + path.string() + " is missing");
        const std::uint64_t size = std::filesystem::file_size(path);
        const std::uint32_t crc = file_crc32(path);
        if (size != sum->second.first || crc != sum->second.second) {
          char buf[160];
          std::snprintf(buf, sizeof buf, " has %llu bytes and CRC-32 %08x, the checkpoint says %llu and %08x",
                        static_cast<unsigned long long>(size), crc,
                        static_cast<unsigned long long>(sum->second.first),
                        static_cast<unsigned>(sum->second.second));
          throw CheckpointError("pieces/" + name + ": its file " + path.string() + buf +
                                " (the file was changed or cut short)");
        }
        p.file = StoredPiece{*target, Range{}, 0, size, crc};
        sums.erase(sum);
      }
      const h5::Handle g = h5::open_group(pieces, name);
      p.first_range = h5::read_u64_attribute(g, "first_range");
      p.end_range = h5::read_u64_attribute(g, "end_range");
      PartialResult r;
      r.range = Range{h5::read_u64_attribute(g, "term_begin"), h5::read_u64_attribute(g, "term_end")};
      if (p.first_range != ranges[2 * i] || p.end_range != ranges[2 * i + 1] ||
          r.range.begin != terms[2 * i] || r.range.end != terms[2 * i + 1]) {
        throw CheckpointError(name + " disagrees with completed_ranges/completed_terms");
      }
      if (p.end_range <= p.first_range || p.end_range > grid.size() ||
          r.range != grid.span(p.first_range, p.end_range)) {
        throw CheckpointError(name + " (ranges " + std::to_string(p.first_range) + ".." +
                              std::to_string(p.end_range) + ") does not fit the grid");
      }
      const std::uint64_t values = h5::read_u64_attribute(g, "values");
      if (values == 0 || values > 8 || !plausible_value_count(*series, values))
        throw CheckpointError(name + " has " + std::to_string(values) + " values, which no piece of " +
                              s.series + " has");
      try {
        r.values = read_piece_values(g, values);
      } catch (const CheckpointError& e) {
        throw CheckpointError("pieces/" + name + ": " + e.what());
      }
      if (!check_primes.empty()) {
        const int bad = first_mismatch(residues_of(r.values, check_primes),
                                       series->fingerprint(r.range, p.end_range == grid.size(), check_primes),
                                       check_primes.size());
        if (bad >= 0) {
          throw CheckpointError("pieces/" + name + " (ranges " + std::to_string(p.first_range) + ".." +
                                std::to_string(p.end_range) + ", terms [" + std::to_string(r.range.begin) +
                                ", " + std::to_string(r.range.end) + ")): value_" + std::to_string(bad) +
                                " fails its fingerprint, it is not what the series' terms give (the file was "
                                "altered or damaged)");
        }
      }
      done += p.end_range - p.first_range;
      if (p.file) {
        p.file->range = r.range;
        p.file->values = r.values.size();
      }
      if (p.file && values_in_files == PieceValues::leave_in_files) {
        p.load_from = file.parent_path() / p.file->file;  // checked above; a worker reads it again
      } else {
        p.result = std::make_shared<PartialResult>(std::move(r));
      }
      s.pieces.push_back(std::move(p));
    }
    if (!sums.empty())
      throw CheckpointError("piece_files names piece " + std::to_string(sums.begin()->first) +
                            ", which is not in a file of its own");
    if (h5::has_link(root, "ledger")) {
      if (series->kind() != SeriesKind::slow) throw CheckpointError("a ledger for " + s.series);
      s.ledger = read_ledger(root, grid);
      check_ledger(*series, s.ledger, s.pieces);
    }
    if (done != s.ranges_done) {
      throw CheckpointError("ranges_done says " + std::to_string(s.ranges_done) + " but the pieces cover " +
                            std::to_string(done));
    }
    if (s.complete && (n != 1 || done != grid.size())) {
      throw CheckpointError("status is complete but the pieces do not cover the whole grid");
    }
    return s;
  } catch (const CheckpointError& e) {
    throw CheckpointError(file.string() + ": " + e.what());
  } catch (const std::exception& e) {
    // Whatever else a damaged file provokes is a refusal of that file too.
    throw CheckpointError(file.string() + ": unreadable (" + std::string(e.what()) + ")");
  }
}

void write_result_file(const std::filesystem::path& dir, const RunResult& r, const std::string& summary) {
  const std::filesystem::path path = dir / "result.h5";
  try {
    commit_atomically(path, [&](const std::filesystem::path& tmp) {
      h5::Handle f = h5::create_file(tmp);
      {
        const h5::Handle root = h5::open_group(f, "/");
        h5::write_attribute(root, "format", std::string(kResultFormat));
        h5::write_attribute(root, "format_version", kCheckpointFormatVersion);
        h5::write_attribute(root, "program_version", std::string(PI_HPC_VERSION));
        write_parameters(root, r.final_state);
        h5::write_attribute(root, "status", std::string("complete"));
        const Estimate& best = r.estimates.best();
        h5::write_attribute(root, "estimate", r.estimate_text);
        h5::write_attribute(root, "method", best.method);
        h5::write_attribute(root, "error_bound", best.error_bound.to_string());
        h5::write_attribute(root, "correct_digits", r.correct_digits);
        h5::write_attribute(root, "elapsed_s", r.elapsed_s);
        h5::write_attribute(root, "ranks", static_cast<std::uint64_t>(r.ranks));
        h5::write_attribute(root, "retries", r.retries);
        h5::write_attribute(root, "resumes", r.resumes);
        h5::write_attribute(root, "written_at", utc_now());
        if (r.pi_text) {
          // The digits as in pi.txt ("3." and the decimals), without the newline.
          const auto* data = reinterpret_cast<const std::uint8_t*>(r.pi_text->data());
          h5::write_bytes(root, "pi", std::span<const std::uint8_t>(data, r.pi_text->size()));
        } else if (r.pi_file) {
          // The same from pi.txt, in place already (write_outputs), a part at a time.
          const std::filesystem::path pi_txt = dir / "pi.txt";
          h5::write_bytes_from_file(root, "pi", pi_txt, std::filesystem::file_size(pi_txt) - 1);
        }
        const auto* text = reinterpret_cast<const std::uint8_t*>(summary.data());
        h5::write_bytes(root, "summary_json", std::span<const std::uint8_t>(text, summary.size()));
      }
      f.close("cannot close " + tmp.string());
    });
  } catch (const std::exception& e) {
    throw CheckpointError("cannot write " + path.string() + ": " + e.what());
  }
}

}  // namespace pi

namespace pi {

std::optional<KeptOutputs> read_kept_outputs(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / "result.h5";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  try {
    const h5::Handle f = h5::open_file_readonly(path);
    const h5::Handle root = h5::open_group(f, "/");
    if (!h5::has_attribute(root, "format") || h5::read_string_attribute(root, "format") != kResultFormat)
      return std::nullopt;
    KeptOutputs kept;
    const auto as_text = [](const std::vector<std::uint8_t>& b) { return std::string(b.begin(), b.end()); };
    kept.summary_json =
        as_text(h5::read_dataset_bytes(h5::open_checked_dataset(root, "summary_json"), "summary_json"));
    if (h5::read_string_attribute(root, "mode") == "digits")
      kept.pi_txt = as_text(h5::read_dataset_bytes(h5::open_checked_dataset(root, "pi"), "pi")) + "\n";
    return kept;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace pi
