// The coordinator-worker protocol as bytes: message kinds, and the encoding of tasks and partial results
// (big integers as 64-bit words, least significant first, in the machine's byte order). No MPI here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "coordinator/capture.hpp"
#include "coordinator/scheduler.hpp"
#include "coordinator/task.hpp"
#include "coordinator/usage.hpp"

namespace pi {

// MPI tags. Between workers: fetch (a request for a piece's values) and piece (the answer); from rank 0,
// drop (pieces a worker may let go) and store (write a piece to a file for a checkpoint); to rank 0, alive (a
// worker's heartbeat while it holds a task) and stored (the answer to store).
enum class Tag : int {
  ready = 1,
  task = 2,
  result = 3,
  failed = 4,
  stop = 5,
  job = 6,
  fetch = 7,
  piece = 8,
  drop = 9,
  alive = 10,
  store = 11,
  stored = 12,
  lost = 13,     // rank 0 to the workers: ranks taken for lost (encode_keys), whose pieces they stop fetching
  fetched = 14,  // a worker to rank 0: a conversion block's fraction arrived, and it keeps it (encode_keys)
  product = 15,  // a final steps' worker to rank 0: a product to spread over the others (ProductRequest)
  made = 16      // rank 0 to that worker: the product's runs, where they are (Scheduler::ProductDone)
};

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
  // A text of decimal digits packed 19 to a word (0.42 bytes a digit instead of 1: the conversion's blocks
  // are most of what rank 0 receives); any other text as str() writes it.
  void decimals(const std::string& s);
  void bigint(const BigInt& v);
  void partial(const PartialResult& r);
  void words(const std::vector<std::uint64_t>& v);  // the count, then each
  void shape(const Shape& s);
  void real(const Real& v);  // exactly, at its precision
  void estimate(const Estimate& e);
  void piece(const PieceRef& p);  // its values when here, else where it is
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
  std::string decimals();
  BigInt bigint();
  PartialResult partial();
  // A count of at most `most` words (else WireError naming `what`), then each.
  std::vector<std::uint64_t> words(std::uint64_t most, const char* what);
  Shape shape();
  Real real();
  Estimate estimate();
  PieceRef piece();

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
  // A piece the task needed could not be fetched from worker `owner` (-1: not that kind of failure), under
  // `key`; `silent`: the owner did not answer at all.
  int owner = -1;
  std::uint64_t key = 0;
  bool silent = false;
};
// A worker asks the owner of a piece for some of its values (all when `values` is empty); the answer
// repeats `request` and says whether the owner holds the piece.
struct FetchRequest {
  std::uint64_t request = 0;
  std::uint64_t key = 0;
  std::vector<std::uint64_t> values;
  // Phase 0 of a spread product: of the one value asked for, only its column runs for part `part` of the
  // plan for factors of a_limbs and b_limbs limbs in `parts` parts (column_runs_integer), as a one-value
  // piece. The fetcher can't check runs against the value's fingerprint, so the owner checks the value
  // against `residues` modulo `primes` first (once), and answers `damaged` when it fails.
  struct Runs {
    std::uint64_t a_limbs = 0;
    std::uint64_t b_limbs = 0;
    std::uint32_t parts = 0;
    std::uint32_t part = 0;
    std::vector<std::uint64_t> primes;
    Residues residues;
  };
  std::optional<Runs> runs;
};
struct FetchAnswer {
  std::uint64_t request = 0;
  bool found = false;
  bool damaged = false;  // held, but the value fails its fingerprint (FetchRequest::Runs)
  PartialResult piece;   // the asked-for values, in the order asked
};

Bytes encode_task(const Task& task);
Task decode_task(const Bytes& message);
Bytes encode_result(std::uint64_t task_id, double compute_s, const TaskOutput& output,
                    const RankUsage& usage = {});
ResultMessage decode_result(const Bytes& message);
Bytes encode_failure(std::uint64_t task_id, const std::string& why, int owner = -1, std::uint64_t key = 0,
                     bool silent = false);
FailureMessage decode_failure(const Bytes& message);
Bytes encode_fetch(const FetchRequest& request);
FetchRequest decode_fetch(const Bytes& message);
// The answer, from the owner's piece (nullptr: not held).
Bytes encode_fetch_answer(std::uint64_t request, const PartialResult* piece,
                          const std::vector<std::uint64_t>& values);
Bytes encode_fetch_damaged(std::uint64_t request);
FetchAnswer decode_fetch_answer(const Bytes& message);
// The final steps' worker asks for product n of its factors, one-value pieces it holds under keys of its
// own (Scheduler::product_wanted).
struct ProductRequest {
  std::uint64_t task_id = 0;
  std::uint32_t n = 0;
  bool again = false;
  PieceRef a;
  PieceRef b;
};
Bytes encode_product_request(const ProductRequest& request);
ProductRequest decode_product_request(const Bytes& message);
Bytes encode_product_done(const Scheduler::ProductDone& done);
Scheduler::ProductDone decode_product_done(const Bytes& message);
Bytes encode_keys(const std::vector<std::uint64_t>& keys);
std::vector<std::uint64_t> decode_keys(const Bytes& message);
Bytes encode_store(const StoreRequest& request);
StoreRequest decode_store(const Bytes& message);
Bytes encode_stored(const StoreAnswer& answer);
StoreAnswer decode_stored(const Bytes& message);
Bytes encode_text(const std::string& text);
std::string decode_text(const Bytes& message);

}  // namespace pi
