// The coordinator-worker protocol as bytes: message kinds, and the encoding of tasks and partial results
// (big integers as 64-bit words, least significant first, in the machine's byte order). No MPI here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "coordinator/task.hpp"
#include "coordinator/usage.hpp"

namespace pi {

// MPI tags.
enum class Tag : int { ready = 1, task = 2, result = 3, failed = 4, stop = 5, job = 6 };

class WireError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A message body: an 8-byte length, the payload, zero padding to a whole number of kBlock-byte blocks
// (MPI counts stay within int up to 128 GiB).
inline constexpr std::size_t kBlock = 64;
using Bytes = std::vector<std::byte>;

class Writer {
 public:
  Writer();
  void u8(std::uint8_t v);
  void u64(std::uint64_t v);
  void f64(double v);
  void str(const std::string& s);
  void bigint(const BigInt& v);
  void partial(const PartialResult& r);
  // The framed, padded message.
  Bytes finish() &&;

 private:
  void raw(const void* p, std::size_t n);
  Bytes buf_;
};

class Reader {
 public:
  explicit Reader(const Bytes& message);
  std::uint8_t u8();
  std::uint64_t u64();
  double f64();
  std::string str();
  BigInt bigint();
  PartialResult partial();

 private:
  void raw(void* p, std::size_t n);
  const Bytes& buf_;
  std::size_t pos_;
  std::size_t end_;
};

struct ResultMessage {
  std::uint64_t task_id;
  double compute_s;
  TaskOutput output;
  RankUsage usage;  // the worker's, as it sent the result (this message's own bytes not yet counted)
};
struct FailureMessage {
  std::uint64_t task_id;
  std::string why;
};

Bytes encode_task(const Task& task);
Task decode_task(const Bytes& message);
Bytes encode_result(std::uint64_t task_id, double compute_s, const TaskOutput& output,
                    const RankUsage& usage = {});
ResultMessage decode_result(const Bytes& message);
Bytes encode_failure(std::uint64_t task_id, const std::string& why);
FailureMessage decode_failure(const Bytes& message);
Bytes encode_text(const std::string& text);
std::string decode_text(const Bytes& message);

}  // namespace pi
