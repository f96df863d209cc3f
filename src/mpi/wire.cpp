#include "mpi/wire.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <optional>

namespace pi {
namespace {
constexpr std::uint64_t kMaxPrimes = 16;
// A piece's values at most: a spread product's phase 0 part has two per row of the transform.
constexpr std::uint64_t kMaxValues = 1 << 16;
// A spread product's parts at most.
constexpr std::uint64_t kMaxSpreadParts = 1 << 12;
// Writer::decimals: digits a word, and 10^k for k up to it.
constexpr std::size_t kDigitsPerWord = 19;
constexpr std::array<std::uint64_t, kDigitsPerWord + 1> kPowersOfTen = [] {
  std::array<std::uint64_t, kDigitsPerWord + 1> p{};
  p[0] = 1;
  for (std::size_t k = 1; k < p.size(); ++k) p[k] = p[k - 1] * 10;
  return p;
}();
}  // namespace

Writer::Writer() : buf_(8) {}

void Writer::raw(const void* p, std::size_t n) {
  // resize and copy rather than insert: GCC 12 takes insert's inlined copy for an overrun (-Warray-bounds).
  const std::size_t at = buf_.size();
  buf_.resize(at + n);
  std::memcpy(buf_.data() + at, p, n);
}
void Writer::u8(std::uint8_t v) { raw(&v, 1); }
void Writer::u64(std::uint64_t v) { raw(&v, 8); }
void Writer::f64(double v) { raw(&v, 8); }
void Writer::str(const std::string& s) {
  u64(s.size());
  raw(s.data(), s.size());
}

void Writer::decimals(const std::string& s) {
  const bool packed = std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  u8(packed ? 1 : 0);
  if (!packed) {
    str(s);
    return;
  }
  u64(s.size());
  // Word i holds the digits [19 i, 19 i + 19) as a number (the last word fewer), so leading zeros are kept
  // by the count.
  buf_.reserve(buf_.size() + (s.size() + kDigitsPerWord - 1) / kDigitsPerWord * 8 + kBlock);
  for (std::size_t at = 0; at < s.size(); at += kDigitsPerWord) {
    const std::size_t end = std::min(s.size(), at + kDigitsPerWord);
    std::uint64_t word = 0;
    for (std::size_t i = at; i < end; ++i) word = word * 10 + static_cast<std::uint64_t>(s[i] - '0');
    u64(word);
  }
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

void Writer::words(const std::vector<std::uint64_t>& v) {
  u64(v.size());
  for (const std::uint64_t x : v) u64(x);
}

void Writer::shape(const Shape& s) {
  u64(s.size());
  for (const std::int64_t b : s) u64(static_cast<std::uint64_t>(b));
}

void Writer::real(const Real& v) {
  const mpfr_srcptr x = pi::raw(v);
  u64(static_cast<std::uint64_t>(mpfr_get_prec(x)));
  // 0: zero, 1: a number (mantissa times 2^exponent), 2: not a number or infinite.
  if (mpfr_zero_p(x)) {
    u8(0);
    return;
  }
  if (!mpfr_number_p(x)) {
    u8(2);
    return;
  }
  u8(1);
  BigInt mantissa;
  const mpfr_exp_t exponent = mpfr_get_z_2exp(pi::raw(mantissa), x);
  bigint(mantissa);
  u64(static_cast<std::uint64_t>(static_cast<std::int64_t>(exponent)));
}

void Writer::estimate(const Estimate& e) {
  real(e.value);
  real(e.error_bound.value());
  str(e.method);
}

void Writer::piece(const PieceRef& p) {
  u64(p.range.begin);
  u64(p.range.end);
  u8(p.here() ? 1 : 0);
  if (p.here()) {
    partial(*p.data);
    return;
  }
  u64(static_cast<std::uint64_t>(p.owner));
  u64(p.key);
  shape(p.shape);
  words(p.residues);
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

std::string Reader::decimals() {
  if (u8() == 0) return str();
  const std::uint64_t n = u64();
  const std::uint64_t words = (n + kDigitsPerWord - 1) / kDigitsPerWord;
  if (words > (end_ - pos_) / 8) throw WireError("digits run past the message");
  std::string s(n, '0');
  for (std::size_t at = 0; at < n; at += kDigitsPerWord) {
    const std::size_t count = std::min<std::size_t>(n - at, kDigitsPerWord);
    std::uint64_t word = u64();
    if (word >= kPowersOfTen[count])
      throw WireError("a word of packed digits holds more than its " + std::to_string(count) + " digits");
    for (std::size_t i = count; i-- > 0; word /= 10) s[at + i] = static_cast<char>('0' + word % 10);
  }
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
  if (n > kMaxValues) throw WireError("partial result with " + std::to_string(n) + " values");
  r.values.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) r.values.push_back(bigint());
  return r;
}

std::vector<std::uint64_t> Reader::words(std::uint64_t most, const char* what) {
  const std::uint64_t n = u64();
  if (n > most || n > (end_ - pos_) / 8)
    throw WireError(std::string(what) + ": " + std::to_string(n) + " words");
  std::vector<std::uint64_t> v(n);
  for (std::uint64_t& x : v) x = u64();
  return v;
}

Shape Reader::shape() {
  Shape s;
  for (const std::uint64_t b : words(kMaxValues, "a piece's shape"))
    s.push_back(static_cast<std::int64_t>(b));
  return s;
}

Real Reader::real() {
  const std::uint64_t precision = u64();
  if (precision < MPFR_PREC_MIN || precision > (std::uint64_t{1} << 40))
    throw WireError("a real of " + std::to_string(precision) + " bits");
  Real v = make_real(precision);
  const std::uint8_t kind = u8();
  if (kind == 2) {
    mpfr_set_nan(pi::raw(v));
  } else if (kind == 1) {
    const BigInt mantissa = bigint();
    const auto exponent = static_cast<std::int64_t>(u64());
    mpfr_set_z_2exp(pi::raw(v), pi::raw(mantissa), static_cast<mpfr_exp_t>(exponent), MPFR_RNDN);
  } else if (kind != 0) {
    throw WireError("a real of unknown kind " + std::to_string(kind));
  }
  return v;
}

Estimate Reader::estimate() {
  Estimate e;
  e.value = real();
  e.error_bound = UpperBound::from_real(real());
  e.method = str();
  return e;
}

PieceRef Reader::piece() {
  PieceRef p;
  p.range.begin = u64();
  p.range.end = u64();
  if (u8() != 0) {
    p.data = std::make_shared<PartialResult>(partial());
    p.shape = shape_of(*p.data);
    return p;
  }
  p.owner = static_cast<int>(u64());
  p.key = u64();
  p.shape = shape();
  p.residues = words(kMaxPrimes * kMaxValues, "a piece's residues");
  return p;
}

Bytes encode_task(const Task& task) {
  Writer w;
  w.u64(task.id);
  w.u8(static_cast<std::uint8_t>(task.kind()));
  w.u64(task.first_range);
  w.u64(task.end_range);
  w.f64(task.allowed_s);
  w.u8(task.keep ? 1 : 0);
  w.u64(task.estimate_bits);
  if (const auto* evaluate = std::get_if<Evaluate>(&task.work)) {
    w.u64(evaluate->range.begin);
    w.u64(evaluate->range.end);
    w.u64(evaluate->step);
    w.u8(evaluate->is_suffix ? 1 : 0);
  } else if (const auto* merge = std::get_if<Merge>(&task.work)) {
    w.piece(merge->left);
    w.piece(merge->right);
  } else if (const auto* product = std::get_if<Product>(&task.work)) {
    // Of a factor here only its value travels, the right one already cut to its slice (a one-value piece);
    // of a factor on a worker, where it is and which value (the worker fetches that one).
    const auto factor = [&w](const PieceRef& piece, std::uint32_t index, const BigInt* value) {
      if (!piece.here()) {
        w.u64(index);
        w.piece(piece);
        return;
      }
      w.u64(0);
      PieceRef one;
      one.range = piece.range;
      one.data = std::make_shared<PartialResult>(PartialResult{piece.range, {*value}});
      w.piece(one);
    };
    w.u64(product->merge);
    w.u64(product->part);
    w.u64(product->parts);
    w.u64(product->slice);
    w.u64(product->slices);
    factor(product->left, product->factor_left,
           product->left.here() ? &product->left.data->values.at(product->factor_left) : nullptr);
    const std::optional<BigInt> slice =
        product->right.here() ? std::optional<BigInt>(product_factor(*product)) : std::nullopt;
    factor(product->right, product->factor_right, slice ? &*slice : nullptr);
  } else if (const auto* digits = std::get_if<Digits>(&task.work)) {
    // A part's block: of a fraction here only its value travels (a one-value piece), as a product's factor.
    if (digits->part && digits->fraction.here()) {
      PieceRef one;
      one.range = digits->fraction.range;
      one.data = std::make_shared<PartialResult>(
          PartialResult{one.range, {digits->fraction.data->values.at(digits->value)}});
      w.piece(one);
      w.u64(0);
    } else {
      w.piece(digits->fraction);
      w.u64(digits->value);
    }
    w.u64(digits->scale_bits);
    w.u64(digits->first);
    w.u64(digits->count);
    w.u8(digits->part ? 1 : 0);
    if (digits->part) {
      w.u64(digits->part->err);
      w.u8(digits->part->integer ? 1 : 0);
      w.u64(digits->part->integer.value_or(0));
    }
  } else if (const auto* assemble = std::get_if<Assemble>(&task.work)) {
    w.u64(assemble->merge);
    w.u64(assemble->left_range.begin);
    w.u64(assemble->left_range.end);
    w.shape(assemble->left_shape);
    w.u64(assemble->right_range.begin);
    w.u64(assemble->right_range.end);
    w.shape(assemble->right_shape);
    w.u64(assemble->slices);
    w.u64(assemble->spread_parts);
    w.u64(assemble->parts.size());
    for (const PieceRef& part : assemble->parts) w.piece(part);
  } else if (const auto* constant = std::get_if<Constant>(&task.work)) {
    w.u64(constant->bits);
    w.u64(constant->spread_bits);
  } else if (const auto* copy = std::get_if<Copy>(&task.work)) {
    w.piece(copy->piece);
  } else if (const auto* load = std::get_if<Load>(&task.work)) {
    w.str(load->path);
    w.u64(load->bytes);
    w.u64(load->crc32);
    w.u64(load->range.begin);
    w.u64(load->range.end);
    w.u64(load->values);
    w.u8(load->is_suffix ? 1 : 0);
  } else if (const auto* spread = std::get_if<Spread>(&task.work)) {
    for (const std::uint64_t v :
         {std::uint64_t{spread->merge}, std::uint64_t{spread->product}, std::uint64_t{spread->phase},
          std::uint64_t{spread->part}, std::uint64_t{spread->parts}, std::uint64_t{spread->factor_left},
          std::uint64_t{spread->factor_right}, spread->left_limbs, spread->right_limbs, spread->range.begin,
          spread->range.end})
      w.u64(v);
    w.u8(spread->final_steps ? 1 : 0);
    w.u64(spread->inputs.size());
    // Phase 0 reads the factors' column runs for its part: of a factor here only those travel (1/parts of
    // it); a worker fetches the runs of a factor another worker holds (FetchRequest::runs).
    const SpreadPlan plan = spread->phase == 0 ? spread_plan(*spread) : SpreadPlan{};
    for (std::size_t k = 0; k < spread->inputs.size(); ++k) {
      const PieceRef& input = spread->inputs[k];
      if (spread->phase != 0 || !input.here() || spread->runs) {
        w.piece(input);
        continue;
      }
      const BigInt& factor = input.data->values.at(k == 0 ? spread->factor_left : spread->factor_right);
      PieceRef runs;
      runs.range = input.range;
      runs.data = std::make_shared<PartialResult>(
          PartialResult{input.range, {column_runs_integer(plan, raw(factor), spread->part)}});
      w.piece(runs);
    }
  } else {
    const FinalSteps& steps = task.as<FinalSteps>();
    w.piece(steps.root);
    w.u8(steps.constant ? 1 : 0);
    if (steps.constant) w.piece(*steps.constant);
    w.u64(steps.bits);
    w.u64(steps.bbp_position);
    w.u8(steps.damage ? 1 : 0);
    w.u64(steps.spread_bits);
    w.u64(steps.decimals);
    w.u64(steps.split_parts);
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
  t.keep = r.u8() != 0;
  t.estimate_bits = r.u64();
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
      PieceRef left = r.piece();
      t.work = Merge{std::move(left), r.piece()};
      break;
    }
    case TaskKind::product: {
      // A factor here arrives as it is multiplied: the right one is its slice already (one slice of one).
      Product product;
      product.merge = r.u64();
      product.part = static_cast<std::uint32_t>(r.u64());
      product.parts = static_cast<std::uint32_t>(r.u64());
      product.slice = static_cast<std::uint32_t>(r.u64());
      product.slices = static_cast<std::uint32_t>(r.u64());
      product.factor_left = static_cast<std::uint32_t>(r.u64());
      product.left = r.piece();
      product.factor_right = static_cast<std::uint32_t>(r.u64());
      product.right = r.piece();
      if ((product.left.here() && product.left.data->values.size() != 1) ||
          (product.right.here() && product.right.data->values.size() != 1))
        throw WireError("product task without two factors");
      if (product.right.here()) {
        product.slice = 0;
        product.slices = 1;
      }
      t.work = std::move(product);
      break;
    }
    case TaskKind::digits: {
      Digits digits;
      digits.fraction = r.piece();
      const std::uint64_t value = r.u64();
      const std::size_t values =
          digits.fraction.here() ? digits.fraction.data->values.size() : digits.fraction.shape.size();
      if (value >= values) throw WireError("digits task without its value of the fraction");
      digits.value = static_cast<std::uint32_t>(value);
      digits.scale_bits = r.u64();
      digits.first = r.u64();
      digits.count = r.u64();
      if (r.u8() != 0) {
        PartEnclosure part;
        part.err = r.u64();
        const bool integer = r.u8() != 0;
        const std::uint64_t n = r.u64();
        if (integer) part.integer = n;
        digits.part = part;
      }
      t.work = std::move(digits);
      break;
    }
    case TaskKind::assemble: {
      Assemble assemble;
      assemble.merge = r.u64();
      assemble.left_range.begin = r.u64();
      assemble.left_range.end = r.u64();
      assemble.left_shape = r.shape();
      assemble.right_range.begin = r.u64();
      assemble.right_range.end = r.u64();
      assemble.right_shape = r.shape();
      assemble.slices = static_cast<std::uint32_t>(r.u64());
      const std::uint64_t spread_parts = r.u64();
      const std::uint64_t parts = r.u64();
      if (assemble.slices == 0 || assemble.slices > 1024 || spread_parts > kMaxSpreadParts ||
          parts > 64 * 1024)
        throw WireError("an assembly of " + std::to_string(parts) + " parts in " +
                        std::to_string(assemble.slices) + " slices");
      assemble.spread_parts = static_cast<std::uint32_t>(spread_parts);
      for (std::uint64_t i = 0; i < parts; ++i) {
        assemble.parts.push_back(r.piece());
        // A product's slice is one value; a spread product's part its runs.
        if (spread_parts == 0 && assemble.parts.back().shape.size() != 1)
          throw WireError("an assembly's part is not one value");
      }
      t.work = std::move(assemble);
      break;
    }
    case TaskKind::final_steps: {
      FinalSteps steps;
      steps.root = r.piece();
      if (r.u8() != 0) {
        steps.constant = r.piece();
        if (steps.constant->shape.size() != 2)
          throw WireError("final steps with a constant not of two values");
      }
      steps.bits = r.u64();
      steps.bbp_position = r.u64();
      steps.damage = r.u8() != 0;
      steps.spread_bits = r.u64();
      steps.decimals = r.u64();
      steps.split_parts = r.u64();
      if (steps.split_parts > kMaxValues - 1 || steps.split_parts > steps.decimals)
        throw WireError("final steps splitting " + std::to_string(steps.decimals) + " decimals into " +
                        std::to_string(steps.split_parts) + " parts");
      t.work = std::move(steps);
      break;
    }
    case TaskKind::constant: {
      const std::uint64_t bits = r.u64();
      t.work = Constant{bits, r.u64()};
    } break;
    case TaskKind::copy: {
      Copy copy{r.piece()};
      if (copy.piece.here() || copy.piece.owner < 0) throw WireError("a copy of a piece no worker holds");
      t.work = std::move(copy);
      break;
    }
    case TaskKind::load: {
      Load load;
      load.path = r.str();
      load.bytes = r.u64();
      const std::uint64_t crc = r.u64();
      if (crc > 0xffffffffu) throw WireError("a piece file's CRC-32 out of range");
      load.crc32 = static_cast<std::uint32_t>(crc);
      load.range.begin = r.u64();
      load.range.end = r.u64();
      load.values = r.u64();
      if (load.values == 0 || load.values > kMaxValues)
        throw WireError("a piece to load of " + std::to_string(load.values) + " values");
      load.is_suffix = r.u8() != 0;
      t.work = std::move(load);
      break;
    }
    case TaskKind::spread: {
      Spread spread;
      spread.merge = r.u64();
      const std::uint64_t product = r.u64(), phase = r.u64(), part = r.u64(), parts = r.u64();
      const std::uint64_t factor_left = r.u64(), factor_right = r.u64();
      if (phase > 2 || parts < 2 || parts > kMaxSpreadParts || !std::has_single_bit(parts) || part >= parts ||
          product >= kMaxValues || factor_left >= kMaxValues || factor_right >= kMaxValues)
        throw WireError("a spread product's part " + std::to_string(part) + " of " + std::to_string(parts) +
                        " in phase " + std::to_string(phase));
      spread.product = static_cast<std::uint32_t>(product);
      spread.phase = static_cast<std::uint32_t>(phase);
      spread.part = static_cast<std::uint32_t>(part);
      spread.parts = static_cast<std::uint32_t>(parts);
      spread.factor_left = static_cast<std::uint32_t>(factor_left);
      spread.factor_right = static_cast<std::uint32_t>(factor_right);
      spread.left_limbs = r.u64();
      spread.right_limbs = r.u64();
      spread.range.begin = r.u64();
      spread.range.end = r.u64();
      spread.final_steps = r.u8() != 0;
      const std::uint64_t inputs = r.u64();
      if (inputs != (phase == 0 ? 2 : parts))
        throw WireError("a spread product's part with " + std::to_string(inputs) + " inputs");
      for (std::uint64_t k = 0; k < inputs; ++k) {
        spread.inputs.push_back(r.piece());
        if (phase == 0 && spread.inputs.back().here() && spread.inputs.back().data->values.size() != 1)
          throw WireError("a spread product's factor runs not as one value");
      }
      // Phase 0 reads runs: those that came, and those its worker fetches.
      spread.runs = phase == 0;
      t.work = std::move(spread);
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
  w.decimals(out.digits);
  w.u8(out.kept ? 1 : 0);
  w.shape(out.shape);
  w.u8(out.lead ? 1 : 0);
  if (out.lead) w.estimate(*out.lead);
  w.u8(out.summary ? 1 : 0);
  if (out.summary) {
    const FinalSummary& s = *out.summary;
    w.estimate(s.estimate);
    w.str(s.head);
    w.u64(s.scale_bits);
    w.u8(s.convertible ? 1 : 0);
    w.u64(s.bbp_high);
    w.u64(s.bbp_low);
    w.u64(s.integer);
    w.u64(s.parts.size());
    for (const FinalSummary::Part& part : s.parts)
      for (const std::uint64_t v : {part.first, part.count, part.scale_bits, part.err}) w.u64(v);
  }
  w.u8(out.part_refused ? 1 : 0);
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
  m.output.digits = r.decimals();
  m.output.kept = r.u8() != 0;
  m.output.shape = r.shape();
  if (r.u8() != 0) m.output.lead = std::make_shared<const Estimate>(r.estimate());
  if (r.u8() != 0) {
    auto s = std::make_shared<FinalSummary>();
    s->estimate = r.estimate();
    s->head = r.str();
    s->scale_bits = r.u64();
    s->convertible = r.u8() != 0;
    s->bbp_high = r.u64();
    s->bbp_low = r.u64();
    s->integer = r.u64();
    const std::uint64_t parts = r.u64();
    if (parts >= kMaxValues) throw WireError("final summary with " + std::to_string(parts) + " parts");
    for (std::uint64_t i = 0; i < parts; ++i) {
      FinalSummary::Part part;
      part.first = r.u64();
      part.count = r.u64();
      part.scale_bits = r.u64();
      part.err = r.u64();
      s->parts.push_back(part);
    }
    m.output.summary = std::move(s);
  }
  m.output.part_refused = r.u8() != 0;
  const std::uint64_t residues = r.u64();
  if (residues > kMaxPrimes * (m.output.result.values.size() + m.output.shape.size() + 1))
    throw WireError("result with " + std::to_string(residues) + " residues");
  for (std::uint64_t i = 0; i < residues; ++i) m.output.residues.push_back(r.u64());
  m.usage.peak_rss_bytes = r.u64();
  m.usage.bytes_sent = r.u64();
  m.usage.bytes_received = r.u64();
  m.usage.pieces_held = r.u64();
  return m;
}

Bytes encode_failure(std::uint64_t task_id, const std::string& why, int owner, std::uint64_t key,
                     bool silent) {
  Writer w;
  w.u64(task_id);
  w.str(why);
  w.u64(static_cast<std::uint64_t>(static_cast<std::int64_t>(owner)));
  w.u64(key);
  w.u8(silent ? 1 : 0);
  return std::move(w).finish();
}

FailureMessage decode_failure(const Bytes& message) {
  Reader r(message);
  FailureMessage m;
  m.task_id = r.u64();
  m.why = r.str();
  m.owner = static_cast<int>(static_cast<std::int64_t>(r.u64()));
  m.key = r.u64();
  m.silent = r.u8() != 0;
  return m;
}

Bytes encode_fetch(const FetchRequest& request) {
  Writer w;
  w.u64(request.request);
  w.u64(request.key);
  w.words(request.values);
  w.u8(request.runs ? 1 : 0);
  if (request.runs) {
    w.u64(request.runs->a_limbs);
    w.u64(request.runs->b_limbs);
    w.u64(request.runs->parts);
    w.u64(request.runs->part);
    w.words(request.runs->primes);
    w.words(request.runs->residues);
  }
  return std::move(w).finish();
}

FetchRequest decode_fetch(const Bytes& message) {
  Reader r(message);
  FetchRequest m;
  m.request = r.u64();
  m.key = r.u64();
  m.values = r.words(kMaxValues, "a fetch's values");
  if (r.u8() != 0) {
    FetchRequest::Runs runs;
    runs.a_limbs = r.u64();
    runs.b_limbs = r.u64();
    const std::uint64_t parts = r.u64(), part = r.u64();
    if (parts < 2 || parts > kMaxSpreadParts || !std::has_single_bit(parts) || part >= parts ||
        m.values.size() != 1)
      throw WireError("a fetch of column runs for part " + std::to_string(part) + " of " +
                      std::to_string(parts));
    runs.parts = static_cast<std::uint32_t>(parts);
    runs.part = static_cast<std::uint32_t>(part);
    runs.primes = r.words(kMaxPrimes, "a fetch's primes");
    runs.residues = r.words(kMaxPrimes, "a fetch's residues");
    if (runs.residues.size() != runs.primes.size()) throw WireError("a fetch's residues not one a prime");
    m.runs = std::move(runs);
  }
  return m;
}

Bytes encode_fetch_answer(std::uint64_t request, const PartialResult* piece,
                          const std::vector<std::uint64_t>& values) {
  Writer w;
  w.u64(request);
  w.u8(piece ? 1 : 0);
  if (!piece) return std::move(w).finish();
  if (values.empty()) {
    w.partial(*piece);
  } else {
    w.u64(piece->range.begin);
    w.u64(piece->range.end);
    w.u64(values.size());
    for (const std::uint64_t v : values) w.bigint(piece->values.at(v));
  }
  return std::move(w).finish();
}

Bytes encode_fetch_damaged(std::uint64_t request) {
  Writer w;
  w.u64(request);
  w.u8(2);
  return std::move(w).finish();
}

FetchAnswer decode_fetch_answer(const Bytes& message) {
  Reader r(message);
  FetchAnswer m;
  m.request = r.u64();
  const std::uint8_t status = r.u8();  // 0 not held, 1 found, 2 damaged
  if (status > 2) throw WireError("a fetch's answer of status " + std::to_string(status));
  m.found = status == 1;
  m.damaged = status == 2;
  if (m.found) m.piece = r.partial();
  return m;
}

Bytes encode_product_request(const ProductRequest& request) {
  Writer w;
  w.u64(request.task_id);
  w.u64(request.n);
  w.u8(request.again ? 1 : 0);
  w.piece(request.a);
  w.piece(request.b);
  return std::move(w).finish();
}

ProductRequest decode_product_request(const Bytes& message) {
  Reader r(message);
  ProductRequest m;
  m.task_id = r.u64();
  const std::uint64_t n = r.u64();
  if (n > 0xffffffffu) throw WireError("a product request numbered " + std::to_string(n));
  m.n = static_cast<std::uint32_t>(n);
  m.again = r.u8() != 0;
  m.a = r.piece();
  m.b = r.piece();
  if (m.a.here() || m.b.here() || m.a.shape.size() != 1 || m.b.shape.size() != 1)
    throw WireError("a product request whose factors are not two one-value pieces held by its worker");
  return m;
}

Bytes encode_product_done(const Scheduler::ProductDone& done) {
  Writer w;
  w.u64(done.task);
  w.u64(done.n);
  w.u64(done.parts);
  w.u8(done.refused ? 1 : 0);
  w.u64(done.runs.size());
  for (const PieceRef& run : done.runs) w.piece(run);
  return std::move(w).finish();
}

Scheduler::ProductDone decode_product_done(const Bytes& message) {
  Reader r(message);
  Scheduler::ProductDone m;
  m.task = r.u64();
  const std::uint64_t n = r.u64(), parts = r.u64();
  m.refused = r.u8() != 0;
  const std::uint64_t runs = r.u64();
  if (n > 0xffffffffu || parts > kMaxSpreadParts || runs != (m.refused ? 0 : parts) ||
      (!m.refused && (parts < 2 || !std::has_single_bit(parts))))
    throw WireError("a product made of " + std::to_string(runs) + " runs in " + std::to_string(parts) +
                    " parts");
  m.n = static_cast<std::uint32_t>(n);
  m.parts = static_cast<std::uint32_t>(parts);
  for (std::uint64_t i = 0; i < runs; ++i) m.runs.push_back(r.piece());
  return m;
}

Bytes encode_keys(const std::vector<std::uint64_t>& keys) {
  Writer w;
  w.words(keys);
  return std::move(w).finish();
}

std::vector<std::uint64_t> decode_keys(const Bytes& message) {
  Reader r(message);
  return r.words(message.size() / 8, "a list of keys");
}

Bytes encode_store(const StoreRequest& request) {
  Writer w;
  w.u64(request.capture);
  w.u64(request.key);
  w.u64(request.first_range);
  w.u64(request.end_range);
  w.str(request.dir);
  w.str(request.file);
  return std::move(w).finish();
}

StoreRequest decode_store(const Bytes& message) {
  Reader r(message);
  StoreRequest request;
  request.capture = r.u64();
  request.key = r.u64();
  request.first_range = r.u64();
  request.end_range = r.u64();
  request.dir = r.str();
  request.file = r.str();
  return request;
}

Bytes encode_stored(const StoreAnswer& answer) {
  Writer w;
  w.u64(answer.capture);
  w.u64(answer.key);
  w.u8(answer.held ? 1 : 0);
  w.u8(answer.stored ? 1 : 0);
  if (answer.stored) {
    w.str(answer.stored->file);
    w.u64(answer.stored->range.begin);
    w.u64(answer.stored->range.end);
    w.u64(answer.stored->values);
    w.u64(answer.stored->bytes);
    w.u64(answer.stored->crc32);
  }
  w.str(answer.error);
  return std::move(w).finish();
}

StoreAnswer decode_stored(const Bytes& message) {
  Reader r(message);
  StoreAnswer answer;
  answer.capture = r.u64();
  answer.key = r.u64();
  answer.held = r.u8() != 0;
  if (r.u8() != 0) {
    StoredPiece s;
    s.file = r.str();
    s.range.begin = r.u64();
    s.range.end = r.u64();
    s.values = r.u64();
    s.bytes = r.u64();
    const std::uint64_t crc = r.u64();
    if (crc > 0xffffffffu) throw WireError("a stored piece's CRC-32 out of range");
    s.crc32 = static_cast<std::uint32_t>(crc);
    answer.stored = std::move(s);
  }
  answer.error = r.str();
  return answer;
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
