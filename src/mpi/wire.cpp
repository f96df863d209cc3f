#include "mpi/wire.hpp"

#include <cstring>

namespace pi {
namespace {
constexpr std::uint64_t kMaxPrimes = 16;
}  // namespace

Writer::Writer() : buf_(8) {}

void Writer::raw(const void* p, std::size_t n) {
  const auto* b = static_cast<const std::byte*>(p);
  buf_.insert(buf_.end(), b, b + n);
}
void Writer::u8(std::uint8_t v) { raw(&v, 1); }
void Writer::u64(std::uint64_t v) { raw(&v, 8); }
void Writer::f64(double v) { raw(&v, 8); }
void Writer::str(const std::string& s) {
  u64(s.size());
  raw(s.data(), s.size());
}

void Writer::bigint(const BigInt& v) {
  const std::size_t words = (mpz_sizeinbase(pi::raw(v), 2) + 63) / 64;
  u8(mpz_sgn(pi::raw(v)) < 0 ? 1 : 0);
  u64(words);
  const std::size_t at = buf_.size();
  buf_.resize(at + words * 8);
  std::size_t written = 0;
  if (mpz_sgn(pi::raw(v)) != 0) mpz_export(buf_.data() + at, &written, -1, 8, 0, 0, pi::raw(v));
  if (written != words) std::memset(buf_.data() + at + written * 8, 0, (words - written) * 8);
}

void Writer::partial(const PartialResult& r) {
  u64(r.range.begin);
  u64(r.range.end);
  u64(r.values.size());
  std::size_t bytes = 0;
  for (const BigInt& v : r.values) bytes += mpz_sizeinbase(pi::raw(v), 2) / 8 + 24;
  buf_.reserve(buf_.size() + bytes + kBlock);
  for (const BigInt& v : r.values) bigint(v);
}

Bytes Writer::finish() && {
  const std::uint64_t length = buf_.size() - 8;
  std::memcpy(buf_.data(), &length, 8);
  buf_.resize((buf_.size() + kBlock - 1) / kBlock * kBlock);
  return std::move(buf_);
}

Reader::Reader(const Bytes& message) : buf_(message), pos_(8), end_(8) {
  std::uint64_t length = 0;
  if (message.size() < 8) throw WireError("message shorter than its header");
  std::memcpy(&length, message.data(), 8);
  if (length > message.size() - 8) throw WireError("message length exceeds what was received");
  end_ = 8 + length;
}

void Reader::raw(void* p, std::size_t n) {
  if (n > end_ - pos_) throw WireError("message ends early");
  std::memcpy(p, buf_.data() + pos_, n);
  pos_ += n;
}
std::uint8_t Reader::u8() {
  std::uint8_t v;
  raw(&v, 1);
  return v;
}
std::uint64_t Reader::u64() {
  std::uint64_t v;
  raw(&v, 8);
  return v;
}
double Reader::f64() {
  double v;
  raw(&v, 8);
  return v;
}
std::string Reader::str() {
  const std::uint64_t n = u64();
  if (n > end_ - pos_) throw WireError("string runs past the message");
  std::string s(reinterpret_cast<const char*>(buf_.data() + pos_), n);
  pos_ += n;
  return s;
}

BigInt Reader::bigint() {
  const bool negative = u8() != 0;
  const std::uint64_t words = u64();
  if (words > (end_ - pos_) / 8) throw WireError("integer runs past the message");
  BigInt v;
  mpz_import(pi::raw(v), words, -1, 8, 0, 0, buf_.data() + pos_);
  pos_ += words * 8;
  if (negative) mpz_neg(pi::raw(v), pi::raw(v));
  return v;
}

PartialResult Reader::partial() {
  PartialResult r;
  r.range.begin = u64();
  r.range.end = u64();
  const std::uint64_t n = u64();
  if (n > 64) throw WireError("partial result with " + std::to_string(n) + " values");
  r.values.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) r.values.push_back(bigint());
  return r;
}

Bytes encode_task(const Task& task) {
  Writer w;
  w.u64(task.id);
  w.u8(static_cast<std::uint8_t>(task.kind()));
  w.u64(task.first_range);
  w.u64(task.end_range);
  w.f64(task.allowed_s);
  if (const auto* evaluate = std::get_if<Evaluate>(&task.work)) {
    w.u64(evaluate->range.begin);
    w.u64(evaluate->range.end);
    w.u64(evaluate->step);
    w.u8(evaluate->is_suffix ? 1 : 0);
  } else if (const auto* merge = std::get_if<Merge>(&task.work)) {
    w.partial(*merge->left);
    w.partial(*merge->right);
  } else if (const auto* product = std::get_if<Product>(&task.work)) {
    // Only the two factors travel, the right one already cut to its slice: a one-value partial result each.
    const auto one_value = [&w](const Range& range, const BigInt& v) {
      w.u64(range.begin);
      w.u64(range.end);
      w.u64(1);
      w.bigint(v);
    };
    w.u64(product->merge);
    w.u64(product->part);
    w.u64(product->parts);
    one_value(product->left->range, product->left->values.at(product->factor_left));
    one_value(product->right->range, product_factor(*product));
  } else {
    const Digits& digits = task.as<Digits>();
    w.partial(*digits.fraction);
    w.u64(digits.scale_bits);
    w.u64(digits.first);
    w.u64(digits.count);
  }
  w.u64(task.check_primes.size());
  for (std::uint64_t p : task.check_primes) w.u64(p);
  return std::move(w).finish();
}

Task decode_task(const Bytes& message) {
  Reader r(message);
  Task t;
  t.id = r.u64();
  const auto kind = static_cast<TaskKind>(r.u8());
  t.first_range = r.u64();
  t.end_range = r.u64();
  t.allowed_s = r.f64();
  switch (kind) {
    case TaskKind::evaluate: {
      Evaluate evaluate;
      evaluate.range.begin = r.u64();
      evaluate.range.end = r.u64();
      evaluate.step = r.u64();
      evaluate.is_suffix = r.u8() != 0;
      t.work = evaluate;
      break;
    }
    case TaskKind::merge: {
      auto left = std::make_shared<const PartialResult>(r.partial());
      t.work = Merge{std::move(left), std::make_shared<const PartialResult>(r.partial())};
      break;
    }
    case TaskKind::product: {
      // The factors arrive as they are multiplied: the right one is its slice already (one slice of one).
      Product product;
      product.merge = r.u64();
      product.part = static_cast<std::uint32_t>(r.u64());
      product.parts = static_cast<std::uint32_t>(r.u64());
      product.left = std::make_shared<const PartialResult>(r.partial());
      product.right = std::make_shared<const PartialResult>(r.partial());
      if (product.left->values.size() != 1 || product.right->values.size() != 1)
        throw WireError("product task without two factors");
      t.work = std::move(product);
      break;
    }
    case TaskKind::digits: {
      Digits digits;
      digits.fraction = std::make_shared<const PartialResult>(r.partial());
      digits.scale_bits = r.u64();
      digits.first = r.u64();
      digits.count = r.u64();
      t.work = std::move(digits);
      break;
    }
    default:
      throw WireError("unknown task kind " + std::to_string(static_cast<int>(kind)));
  }
  const std::uint64_t primes = r.u64();
  if (primes > kMaxPrimes) throw WireError("task with " + std::to_string(primes) + " check primes");
  for (std::uint64_t i = 0; i < primes; ++i) t.check_primes.push_back(r.u64());
  return t;
}

Bytes encode_result(std::uint64_t task_id, double compute_s, const TaskOutput& out, const RankUsage& usage) {
  Writer w;
  w.u64(task_id);
  w.f64(compute_s);
  w.partial(out.result);
  w.str(out.digits);
  w.u64(out.residues.size());
  for (std::uint64_t r : out.residues) w.u64(r);
  for (std::uint64_t v : {usage.peak_rss_bytes, usage.bytes_sent, usage.bytes_received, usage.pieces_held})
    w.u64(v);
  return std::move(w).finish();
}

ResultMessage decode_result(const Bytes& message) {
  Reader r(message);
  ResultMessage m;
  m.task_id = r.u64();
  m.compute_s = r.f64();
  m.output.result = r.partial();
  m.output.digits = r.str();
  const std::uint64_t residues = r.u64();
  if (residues > kMaxPrimes * (m.output.result.values.size() + 1))
    throw WireError("result with " + std::to_string(residues) + " residues");
  for (std::uint64_t i = 0; i < residues; ++i) m.output.residues.push_back(r.u64());
  m.usage.peak_rss_bytes = r.u64();
  m.usage.bytes_sent = r.u64();
  m.usage.bytes_received = r.u64();
  m.usage.pieces_held = r.u64();
  return m;
}

Bytes encode_failure(std::uint64_t task_id, const std::string& why) {
  Writer w;
  w.u64(task_id);
  w.str(why);
  return std::move(w).finish();
}

FailureMessage decode_failure(const Bytes& message) {
  Reader r(message);
  FailureMessage m;
  m.task_id = r.u64();
  m.why = r.str();
  return m;
}

Bytes encode_text(const std::string& text) {
  Writer w;
  w.str(text);
  return std::move(w).finish();
}

std::string decode_text(const Bytes& message) {
  Reader r(message);
  return r.str();
}

}  // namespace pi
