#include "coordinator/capture.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace pi {

std::string stored_piece_name(std::uint64_t number, std::uint64_t capture, std::uint64_t first_range,
                              std::uint64_t end_range) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "pieces/c%06llu-%llu-%llu-%llu.h5", static_cast<unsigned long long>(number),
                static_cast<unsigned long long>(capture), static_cast<unsigned long long>(first_range),
                static_cast<unsigned long long>(end_range));
  return buf;
}

std::optional<std::uint64_t> stored_piece_number(const std::string& name) {
  if (name.size() < 4 || name[0] != 'c' || !name.ends_with(".h5")) return std::nullopt;
  const char* at = name.data() + 1;
  const char* const end = name.data() + name.size() - 3;
  std::uint64_t numbers[4] = {};
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (at == end || *at != '-') return std::nullopt;
      ++at;
    }
    const auto [next, ec] = std::from_chars(at, end, numbers[i]);
    if (ec != std::errc()) return std::nullopt;
    at = next;
  }
  if (at != end) return std::nullopt;
  return numbers[0];
}

void PieceCapture::begin(std::vector<Held> pieces, std::uint64_t number, const std::filesystem::path& dir,
                         Clock::time_point now) {
  entries_.clear();
  requests_.clear();
  error_.clear();
  late_ = false;
  written_ = 0;
  active_ = true;
  ++capture_;
  double bytes = 0;
  for (Held& held : pieces) {
    Entry e{std::move(held), std::nullopt, false, false};
    if (!e.piece.ref.here()) {
      if (const StoredPiece* file = stored(e.piece.ref.owner, e.piece.ref.key)) {
        e.file = *file;
      } else {
        e.asked = true;
        bytes += shape_bits(e.piece.ref.shape) / 8;
        requests_.push_back(StoreRequest{
            capture_, e.piece.ref.owner, e.piece.ref.key, e.piece.first_range, e.piece.end_range,
            dir.string(), stored_piece_name(number, capture_, e.piece.first_range, e.piece.end_range)});
      }
    }
    entries_.push_back(std::move(e));
  }
  deadline_ = now + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(kBaseSeconds + bytes / kBytesPerSecond));
}

bool PieceCapture::waiting() const {
  if (!active_ || !error_.empty() || late_) return false;
  return std::any_of(entries_.begin(), entries_.end(), [](const Entry& e) { return e.asked; });
}

void PieceCapture::expire(Clock::time_point now) { late_ = late_ || (active_ && now > deadline_); }

bool PieceCapture::awaits(int w) const {
  return active_ && std::any_of(entries_.begin(), entries_.end(),
                                [w](const Entry& e) { return e.asked && e.piece.ref.owner == w; });
}

void PieceCapture::answer(int w, const StoreAnswer& answer) {
  // The answer of a capture given up: its file is named by no checkpoint.
  if (!active_ || answer.capture != capture_) return;
  for (Entry& e : entries_) {
    if (!e.asked || e.piece.ref.owner != w || e.piece.ref.key != answer.key) continue;
    e.asked = false;
    if (answer.stored) {
      e.file = answer.stored;
      stored_[{w, answer.key}] = *answer.stored;
      ++written_;
    } else if (!answer.held) {
      e.dropped = true;
    } else if (error_.empty()) {
      error_ = "rank " + std::to_string(w + 1) + " could not write piece " + std::to_string(answer.key) +
               " (grid ranges " + std::to_string(e.piece.first_range) + ".." +
               std::to_string(e.piece.end_range) + "): " + answer.error;
    }
    return;
  }
}

void PieceCapture::lose_where(const std::function<bool(const PieceRef&)>& lost) {
  for (Entry& e : entries_) {
    if (e.asked && !e.piece.ref.here() && lost(e.piece.ref)) {
      e.asked = false;
      e.dropped = true;
    }
  }
  for (auto it = stored_.begin(); it != stored_.end();) {
    PieceRef ref;
    ref.owner = it->first.first;
    ref.key = it->first.second;
    it = lost(ref) ? stored_.erase(it) : std::next(it);
  }
}

void PieceCapture::forget(int w, std::uint64_t key) { stored_.erase({w, key}); }

std::optional<PieceCapture::Outcome> PieceCapture::take(Clock::time_point now) {
  if (!active_) return std::nullopt;
  const bool asking = std::any_of(entries_.begin(), entries_.end(), [](const Entry& e) { return e.asked; });
  expire(now);
  if (asking && error_.empty() && !late_) return std::nullopt;
  active_ = false;
  Outcome out;
  out.error = error_;
  out.written = written_;
  for (Entry& e : entries_) {
    if (e.asked && out.error.empty()) {
      out.error = "rank " + std::to_string(e.piece.ref.owner + 1) + " did not write piece " +
                  std::to_string(e.piece.ref.key) + " in time";
    }
    if (e.dropped || e.asked) {
      ++out.left_out;
      continue;
    }
    FinishedPiece p{e.piece.first_range, e.piece.end_range, e.piece.ref.data, e.file};
    out.pieces.push_back(std::move(p));
  }
  entries_.clear();
  std::sort(out.pieces.begin(), out.pieces.end(),
            [](const auto& a, const auto& b) { return a.first_range < b.first_range; });
  return out;
}

const StoredPiece* PieceCapture::stored(int w, std::uint64_t key) const {
  const auto it = stored_.find({w, key});
  return it == stored_.end() ? nullptr : &it->second;
}

}  // namespace pi
