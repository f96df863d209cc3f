#include "series/spread_product.hpp"

#include <flint/fft.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

namespace pi {

namespace {

// A stored coefficient is ring_limbs + 1 limbs: the value is the low ring_limbs limbs plus the top limb,
// read as signed, times 2^N (FLINT's representation, which its butterflies keep bounded).

// The transforms run on a work area of `count` coefficients plus two spare ones, through pointers that the
// butterflies swap (their outputs go to the spares, which then take the inputs' places): points()[i] is
// where point i is now.
class WorkArea {
 public:
  WorkArea(std::uint64_t count, std::uint64_t width) : storage_((count + 2) * width), at_(count + 2) {
    for (std::uint64_t i = 0; i < count + 2; ++i) at_[i] = storage_.data() + i * width;
  }
  mp_limb_t** points() { return at_.data(); }
  mp_limb_t*& spare1() { return at_[at_.size() - 2]; }
  mp_limb_t*& spare2() { return at_[at_.size() - 1]; }

 private:
  SpreadLimbs storage_;
  std::vector<mp_limb_t*> at_;
};

std::uint64_t bit_reverse(std::uint64_t x, unsigned bits) {
  std::uint64_t r = 0;
  for (unsigned i = 0; i < bits; ++i) r |= ((x >> i) & 1U) << (bits - 1 - i);
  return r;
}

// out = x 2^e modulo 2^N + 1 for 0 <= e < 2 N (2^N = -1).
void twiddle(mp_limb_t* out, mp_limb_t* x, std::uint64_t e, std::uint64_t limbs) {
  const std::uint64_t n_bits = limbs * GMP_NUMB_BITS;
  if (e == 0) {
    std::copy_n(x, limbs + 1, out);
    return;
  }
  fft_adjust(out, x, static_cast<mp_size_t>(e % n_bits), static_cast<mp_size_t>(limbs), 1);
  if (e >= n_bits) mpn_neg(out, out, static_cast<mp_size_t>(limbs + 1));
}

using Butterfly = void (*)(mp_limb_t*, mp_limb_t*, mp_limb_t*, mp_limb_t*, mp_size_t, mp_size_t,
                           flint_bitcnt_t);

// One stage of a length-n transform of the work area's first n points with root 2^unit (unit = 2N / n):
// points j and j + h of each block of 2 h through `butterfly`, twiddled by 2^(j unit n / 2h).
void stage(WorkArea& w, std::uint64_t n, std::uint64_t h, std::uint64_t unit, std::uint64_t limbs,
           Butterfly butterfly) {
  mp_limb_t** ii = w.points();
  const std::uint64_t step = unit * (n / (2 * h));
  for (std::uint64_t start = 0; start < n; start += 2 * h) {
    for (std::uint64_t j = 0; j < h; ++j) {
      butterfly(w.spare1(), w.spare2(), ii[start + j], ii[start + j + h], static_cast<mp_size_t>(j * step),
                static_cast<mp_size_t>(limbs), 1);
      std::swap(ii[start + j], w.spare1());
      std::swap(ii[start + j + h], w.spare2());
    }
  }
}

// The transform: natural order in, bit-reversed order out (decimation in frequency).
void forward(WorkArea& w, std::uint64_t n, std::uint64_t unit, std::uint64_t limbs) {
  for (std::uint64_t h = n / 2; h >= 1; h /= 2) stage(w, n, h, unit, limbs, fft_butterfly);
}

// The inverse of forward() times n: bit-reversed order in, natural order out (decimation in time).
void inverse(WorkArea& w, std::uint64_t n, std::uint64_t unit, std::uint64_t limbs) {
  for (std::uint64_t h = 1; h < n; h *= 2) stage(w, n, h, unit, limbs, ifft_butterfly);
}

// The exponent of the twiddle 2^(2N/L)^(n2 k1) between the column and the row transforms.
std::uint64_t twiddle_exponent(const SpreadPlan& plan, std::uint64_t n2, std::uint64_t k1) {
  return (n2 * k1 % plan.length()) * (2 * plan.ring_bits() / plan.length());
}

// From this many limbs a point's product is FLINT's (fft_mulmod_2expp1, its own transform modulo 2^N + 1):
// at 1664 limbs 113 us against 170 us for GMP's mpn_mul_n alone (2 vCPU AMD EPYC); at 512 limbs 31
// against 32.
constexpr std::uint64_t kFlintPointLimbs = 512;

}  // namespace

void multiply_mod_fermat(mp_limb_t* x, mp_limb_t* y, std::uint64_t limbs, mp_limb_t* scratch) {
  const auto n = static_cast<mp_size_t>(limbs);
  if (x[limbs] != 0 || y[limbs] != 0) {  // one of them is 2^N = -1: the product is minus the other
    if (x[limbs] != 0) std::copy_n(y, limbs + 1, x);
    mpn_neg(x, x, n + 1);
  } else if (limbs >= kFlintPointLimbs) {
    // bits = n w for FLINT; it picks its own transform length from the bits.
    mp_limb_t* product = scratch + 2 * limbs + 2;
    fft_mulmod_2expp1(product, x, y, static_cast<mp_size_t>(limbs), GMP_NUMB_BITS, scratch);
    std::copy_n(product, limbs + 1, x);
  } else {
    mpn_mul_n(scratch, x, y, n);
    const mp_limb_t borrow = mpn_sub_n(x, scratch, scratch + n, n);  // low - high: 2^N = -1
    x[limbs] = borrow == 0 ? 0 : ~mp_limb_t{0};
  }
  mpn_normmod_2expp1(x, n);
}

namespace {

void check_plan(const SpreadPlan& plan) {
  if (plan.parts == 0 || !std::has_single_bit(plan.parts) || plan.rows() < plan.parts ||
      plan.cols() < plan.parts)
    throw std::invalid_argument("spread product: " + std::to_string(plan.parts) + " parts for " +
                                std::to_string(plan.rows()) + " rows and " + std::to_string(plan.cols()) +
                                " columns");
}

}  // namespace

SpreadPlan SpreadPlan::choose(std::uint64_t a_limbs, std::uint64_t b_limbs, std::uint32_t parts) {
  if (a_limbs == 0 || b_limbs == 0) throw std::invalid_argument("spread product: an operand of no limbs");
  if (parts == 0 || !std::has_single_bit(parts))
    throw std::invalid_argument("spread product: " + std::to_string(parts) +
                                " parts (a power of two is needed)");
  const auto log_parts = static_cast<unsigned>(std::countr_zero(parts));
  SpreadPlan best;
  best.a_limbs = a_limbs;
  best.b_limbs = b_limbs;
  best.parts = parts;
  double best_cost = std::numeric_limits<double>::infinity();
  for (unsigned k = std::max(2U, 2 * log_parts); k <= 40; ++k) {
    const std::uint64_t length = std::uint64_t{1} << k;
    const std::uint64_t piece = (a_limbs + b_limbs + length - 2) / (length - 1);
    // N >= 2 m + log2 L + 1 (one limb more than two pieces), and 2 N a multiple of L (the root 2^(2N/L)).
    const std::uint64_t align = std::max<std::uint64_t>(1, length / (2 * GMP_NUMB_BITS));
    std::uint64_t ring = (2 * piece + 1 + align - 1) / align * align;
    // FLINT's product modulo 2^N + 1 needs N/64 a multiple of a power of two that grows with it: above 512
    // limbs odd multiples of 16 gave wrong products here, above 1024 of 32, above 2048 of 64 (FLINT 2.9).
    // A multiple of the power of two at or above sqrt(2 N/64) was right at every size tried.
    if (ring >= kFlintPointLimbs) {
      const std::uint64_t grain =
          std::bit_ceil(static_cast<std::uint64_t>(std::ceil(std::sqrt(2.0 * static_cast<double>(ring)))));
      ring = (ring + grain - 1) / grain * grain;
    }
    // Estimated work in microseconds, fitted to this machine (2 vCPU AMD EPYC): the pointwise products
    // (FLINT's from kFlintPointLimbs, 31 us at 512 limbs and 113 us at 1664; GMP's below, about n^1.47) and
    // three transforms of L/2 log2 L butterflies, about 3 ns a limb.
    const auto n = static_cast<double>(ring);
    const double point = ring >= kFlintPointLimbs ? 0.032 * std::pow(n, 1.1) : 0.0032 * std::pow(n, 1.47);
    const double cost =
        static_cast<double>(length) * point + 1.5 * static_cast<double>(length) * k * n * 0.003;
    if (cost < best_cost) {
      best_cost = cost;
      best.piece_limbs = piece;
      best.log_rows = k / 2;
      best.log_cols = k - k / 2;
      best.ring_limbs = ring;
    }
    if (piece == 1) break;
  }
  return best;
}

SpreadLimbs column_runs(const SpreadPlan& plan, mpz_srcptr x, std::uint32_t j) {
  check_plan(plan);
  const std::uint64_t run = plan.col_count() * plan.piece_limbs;
  SpreadLimbs out(plan.rows() * run);
  const auto size = static_cast<std::uint64_t>(mpz_size(x));
  const mp_limb_t* limbs = mpz_limbs_read(x);
  for (std::uint64_t row = 0; row < plan.rows(); ++row) {
    const std::uint64_t from = (row * plan.cols() + plan.first_col(j)) * plan.piece_limbs;
    const std::uint64_t have = from >= size ? 0 : std::min(run, size - from);
    mp_limb_t* to = out.data() + row * run;
    std::copy_n(limbs + from, have, to);
    std::fill(to + have, to + run, mp_limb_t{0});
  }
  return out;
}

SpreadColumns forward_columns(const SpreadPlan& plan, std::uint32_t j, std::span<const mp_limb_t> a_runs,
                              std::span<const mp_limb_t> b_runs) {
  check_plan(plan);
  const std::uint64_t rows = plan.rows(), cc = plan.col_count(), width = plan.width();
  if (a_runs.size() != rows * cc * plan.piece_limbs || b_runs.size() != a_runs.size())
    throw std::invalid_argument("spread product: column runs of the wrong size");
  SpreadColumns out;
  WorkArea w(rows, width);
  mp_limb_t** ii = w.points();
  for (int operand = 0; operand < 2; ++operand) {
    const std::span<const mp_limb_t> runs = operand == 0 ? a_runs : b_runs;
    SpreadBlock& block = operand == 0 ? out.a : out.b;
    block.rows = rows;
    block.cols = cc;
    block.limbs.resize(rows * cc * width);
    for (std::uint64_t t = 0; t < cc; ++t) {
      for (std::uint64_t row = 0; row < rows; ++row) {
        std::copy_n(runs.data() + (row * cc + t) * plan.piece_limbs, plan.piece_limbs, ii[row]);
        std::fill(ii[row] + plan.piece_limbs, ii[row] + width, mp_limb_t{0});
      }
      forward(w, rows, 2 * plan.ring_bits() / rows, plan.ring_limbs);
      const std::uint64_t n2 = plan.first_col(j) + t;
      for (std::uint64_t p = 0; p < rows; ++p) {
        mp_limb_t* dest = block.limbs.data() + (p * cc + t) * width;
        twiddle(dest, ii[p], twiddle_exponent(plan, n2, bit_reverse(p, plan.log_rows)), plan.ring_limbs);
        mpn_normmod_2expp1(dest, static_cast<mp_size_t>(plan.ring_limbs));
      }
    }
  }
  return out;
}

SpreadBlock spread_slice(const SpreadPlan& plan, const SpreadBlock& block, std::uint64_t first_row,
                         std::uint64_t count) {
  if (first_row + count > block.rows) throw std::invalid_argument("spread product: rows beyond the block");
  const std::uint64_t row_limbs = block.cols * plan.width();
  SpreadBlock out{count, block.cols, {}};
  out.limbs.assign(block.limbs.begin() + static_cast<std::ptrdiff_t>(first_row * row_limbs),
                   block.limbs.begin() + static_cast<std::ptrdiff_t>((first_row + count) * row_limbs));
  return out;
}

SpreadBlock multiply_rows(const SpreadPlan& plan, std::uint32_t i, std::span<const SpreadBlock> a_slices,
                          std::span<const SpreadBlock> b_slices) {
  check_plan(plan);
  const std::uint64_t cols = plan.cols(), rr = plan.row_count(), cc = plan.col_count(), width = plan.width();
  const std::uint64_t n_bits = plan.ring_bits();
  if (a_slices.size() != plan.parts || b_slices.size() != plan.parts)
    throw std::invalid_argument("spread product: a row part needs a slice from every column part");
  for (std::uint32_t j = 0; j < plan.parts; ++j)
    if (a_slices[j].rows != rr || a_slices[j].cols != cc || b_slices[j].rows != rr || b_slices[j].cols != cc)
      throw std::invalid_argument("spread product: a slice of the wrong shape");
  SpreadBlock out{rr, cols, SpreadLimbs(rr * cols * width)};
  WorkArea wa(cols, width), wb(cols, width);
  mp_limb_t** ia = wa.points();
  mp_limb_t** ib = wb.points();
  std::vector<mp_limb_t> scratch(3 * plan.ring_limbs + 3);
  for (std::uint64_t r = 0; r < rr; ++r) {
    for (std::uint64_t n2 = 0; n2 < cols; ++n2) {
      const std::uint64_t j = n2 / cc, t = n2 % cc;
      std::copy_n(a_slices[j].limbs.data() + (r * cc + t) * width, width, ia[n2]);
      std::copy_n(b_slices[j].limbs.data() + (r * cc + t) * width, width, ib[n2]);
    }
    forward(wa, cols, 2 * n_bits / cols, plan.ring_limbs);
    forward(wb, cols, 2 * n_bits / cols, plan.ring_limbs);
    for (std::uint64_t q = 0; q < cols; ++q) {
      mpn_normmod_2expp1(ia[q], static_cast<mp_size_t>(plan.ring_limbs));
      mpn_normmod_2expp1(ib[q], static_cast<mp_size_t>(plan.ring_limbs));
      multiply_mod_fermat(ia[q], ib[q], plan.ring_limbs, scratch.data());
    }
    inverse(wa, cols, 2 * n_bits / cols, plan.ring_limbs);
    const std::uint64_t k1 = bit_reverse(plan.first_row(i) + r, plan.log_rows);
    for (std::uint64_t n2 = 0; n2 < cols; ++n2) {
      const std::uint64_t e = twiddle_exponent(plan, n2, k1);
      mp_limb_t* dest = out.limbs.data() + (r * cols + n2) * width;
      twiddle(dest, ia[n2], e == 0 ? 0 : 2 * n_bits - e, plan.ring_limbs);
      mpn_normmod_2expp1(dest, static_cast<mp_size_t>(plan.ring_limbs));
    }
  }
  return out;
}

SpreadBlock column_slice(const SpreadPlan& plan, const SpreadBlock& block, std::uint32_t j) {
  const std::uint64_t cc = plan.col_count(), width = plan.width();
  if (block.cols != plan.cols()) throw std::invalid_argument("spread product: not a row part's block");
  SpreadBlock out{block.rows, cc, SpreadLimbs(block.rows * cc * width)};
  for (std::uint64_t r = 0; r < block.rows; ++r)
    std::copy_n(block.limbs.data() + (r * block.cols + plan.first_col(j)) * width, cc * width,
                out.limbs.data() + r * cc * width);
  return out;
}

std::vector<BigInt> inverse_columns(const SpreadPlan& plan, std::span<const SpreadBlock> row_slices) {
  check_plan(plan);
  const std::uint64_t rows = plan.rows(), rr = plan.row_count(), cc = plan.col_count(), width = plan.width();
  const std::uint64_t n_bits = plan.ring_bits();
  if (row_slices.size() != plan.parts)
    throw std::invalid_argument("spread product: a column part needs a slice from every row part");
  for (const SpreadBlock& s : row_slices)
    if (s.rows != rr || s.cols != cc)
      throw std::invalid_argument("spread product: a slice of the wrong shape");
  // Each run: col_count() pieces and the last coefficient's overhang, summed in the run's own limbs.
  const std::uint64_t run_limbs = spread_output_value_limbs(plan, 2);
  std::vector<BigInt> out(rows);
  std::vector<mp_limb_t*> runs(rows);
  for (std::uint64_t n1 = 0; n1 < rows; ++n1) {
    runs[n1] = mpz_limbs_write(raw(out[n1]), static_cast<mp_size_t>(run_limbs));
    std::fill_n(runs[n1], run_limbs, mp_limb_t{0});
  }
  WorkArea w(rows, width);
  mp_limb_t** ii = w.points();
  std::vector<mp_limb_t> scaled(width);
  for (std::uint64_t t = 0; t < cc; ++t) {
    for (std::uint64_t p = 0; p < rows; ++p)
      std::copy_n(row_slices[p / rr].limbs.data() + ((p % rr) * cc + t) * width, width, ii[p]);
    inverse(w, rows, 2 * n_bits / rows, plan.ring_limbs);
    for (std::uint64_t n1 = 0; n1 < rows; ++n1) {
      // Times 1/L = 2^(2N - log2 L).
      twiddle(scaled.data(), ii[n1], 2 * n_bits - (plan.log_rows + plan.log_cols), plan.ring_limbs);
      mpn_normmod_2expp1(scaled.data(), static_cast<mp_size_t>(plan.ring_limbs));
      mp_limb_t* at = runs[n1] + t * plan.piece_limbs;
      const std::uint64_t room = run_limbs - t * plan.piece_limbs;
      if (mpn_add(at, at, static_cast<mp_size_t>(room), scaled.data(), static_cast<mp_size_t>(width)) != 0)
        throw std::logic_error("spread product: a run overflowed");
    }
  }
  // mpz_limbs_finish drops the high zero limbs.
  for (BigInt& run : out) mpz_limbs_finish(raw(run), static_cast<mp_size_t>(run_limbs));
  return out;
}

void assemble_spread(BigInt& out, const SpreadPlan& plan, std::span<const std::vector<BigInt>> runs) {
  std::vector<const std::vector<BigInt>*> at;
  at.reserve(runs.size());
  for (const std::vector<BigInt>& r : runs) at.push_back(&r);
  assemble_spread(out, plan, at);
}

void assemble_spread(BigInt& out, const SpreadPlan& plan, std::span<const std::vector<BigInt>* const> runs) {
  if (runs.size() != plan.parts)
    throw std::invalid_argument("spread product: runs of every column part needed");
  const std::uint64_t total = plan.a_limbs + plan.b_limbs;
  BigInt sum;  // the runs are added in its limbs, then it takes out's place
  mp_limb_t* r = mpz_limbs_write(raw(sum), static_cast<mp_size_t>(total));
  std::fill(r, r + total, mp_limb_t{0});
  for (std::uint32_t j = 0; j < plan.parts; ++j) {
    if (runs[j]->size() != plan.rows())
      throw std::invalid_argument("spread product: a run for every row needed");
    for (std::uint64_t n1 = 0; n1 < plan.rows(); ++n1) {
      const BigInt& run = (*runs[j])[n1];
      const auto size = static_cast<std::uint64_t>(mpz_size(raw(run)));
      if (size == 0) continue;
      const std::uint64_t at = (n1 * plan.cols() + plan.first_col(j)) * plan.piece_limbs;
      if (at + size > total) throw std::logic_error("spread product: a run beyond the product");
      if (mpn_add(r + at, r + at, static_cast<mp_size_t>(total - at), mpz_limbs_read(raw(run)),
                  static_cast<mp_size_t>(size)) != 0)
        throw std::logic_error("spread product: the sum overflowed the product");
    }
  }
  mpz_limbs_finish(raw(sum), static_cast<mp_size_t>(total));  // drops the high zero limbs
  out.swap(sum);
}

std::uint64_t spread_output_values(const SpreadPlan& plan, std::uint32_t phase) {
  return phase == 0 ? 2 * plan.rows() : phase == 1 ? plan.parts : plan.rows();
}

std::uint64_t spread_output_value_limbs(const SpreadPlan& plan, std::uint32_t phase) {
  if (phase == 0) return plan.col_count() * plan.width();
  if (phase == 1) return plan.row_count() * plan.col_count() * plan.width();
  return plan.col_count() * plan.piece_limbs + plan.width() + 1;
}

BigInt block_integer(const SpreadBlock& block) {
  BigInt x;
  const auto n = static_cast<mp_size_t>(block.limbs.size());
  mp_limb_t* r = mpz_limbs_write(raw(x), n);
  std::copy(block.limbs.begin(), block.limbs.end(), r);
  mp_size_t used = n;
  while (used > 0 && r[used - 1] == 0) --used;
  mpz_limbs_finish(raw(x), used);
  return x;
}

namespace {

// An integer's limbs, `count` of them (zero beyond its size).
SpreadLimbs padded_limbs(const BigInt& x, std::uint64_t count) {
  const std::size_t size = mpz_size(raw(x));
  if (mpz_sgn(raw(x)) < 0 || size > count)
    throw std::invalid_argument("spread product: " + std::to_string(size) + " limbs where " +
                                std::to_string(count) + " fit");
  SpreadLimbs limbs(count);
  const mp_limb_t* from = mpz_limbs_read(raw(x));
  std::copy(from, from + size, limbs.begin());
  std::fill(limbs.begin() + static_cast<std::ptrdiff_t>(size), limbs.end(), mp_limb_t{0});
  return limbs;
}

}  // namespace

SpreadBlock block_from_integer(const SpreadPlan& plan, const BigInt& limbs, std::uint64_t rows,
                               std::uint64_t cols) {
  return SpreadBlock{rows, cols, padded_limbs(limbs, rows * cols * plan.width())};
}

namespace {

// Phase 0's output from its transforms: row n of a's block, then row n of b's.
std::vector<BigInt> columns_output(const SpreadPlan& plan, const SpreadColumns& c) {
  std::vector<BigInt> out;
  out.reserve(2 * plan.rows());
  for (const SpreadBlock* block : {&c.a, &c.b})
    for (std::uint64_t n = 0; n < plan.rows(); ++n)
      out.push_back(block_integer(spread_slice(plan, *block, n, 1)));
  return out;
}

}  // namespace

std::vector<BigInt> spread_columns_part(const SpreadPlan& plan, std::uint32_t j, mpz_srcptr a, mpz_srcptr b) {
  const SpreadLimbs runs_a = column_runs(plan, a, j), runs_b = column_runs(plan, b, j);
  return columns_output(plan, forward_columns(plan, j, runs_a, runs_b));
}

BigInt column_runs_integer(const SpreadPlan& plan, mpz_srcptr x, std::uint32_t j) {
  return block_integer(SpreadBlock{0, 0, column_runs(plan, x, j)});
}

std::vector<BigInt> spread_columns_from_runs(const SpreadPlan& plan, std::uint32_t j, const BigInt& a_runs,
                                             const BigInt& b_runs) {
  const std::uint64_t count = plan.rows() * plan.col_count() * plan.piece_limbs;
  const SpreadLimbs a = padded_limbs(a_runs, count), b = padded_limbs(b_runs, count);
  return columns_output(plan, forward_columns(plan, j, a, b));
}

std::vector<BigInt> spread_rows_part(const SpreadPlan& plan, std::uint32_t i,
                                     std::span<const std::vector<BigInt>* const> columns) {
  if (columns.size() != plan.parts)
    throw std::invalid_argument("spread product: the columns of every column part needed");
  const std::uint64_t row_limbs = plan.col_count() * plan.width();
  std::vector<SpreadBlock> a_slices, b_slices;
  for (const std::vector<BigInt>* part : columns) {
    if (part->size() != 2 * plan.rows())
      throw std::invalid_argument("spread product: a column part without a row of each block");
    for (const std::uint64_t base : {std::uint64_t{0}, plan.rows()}) {
      SpreadBlock slice{plan.row_count(), plan.col_count(), SpreadLimbs(plan.row_count() * row_limbs)};
      for (std::uint64_t k = 0; k < plan.row_count(); ++k) {
        const SpreadBlock row =
            block_from_integer(plan, (*part)[base + plan.first_row(i) + k], 1, plan.col_count());
        std::copy(row.limbs.begin(), row.limbs.end(),
                  slice.limbs.begin() + static_cast<std::ptrdiff_t>(k * row_limbs));
      }
      (base == 0 ? a_slices : b_slices).push_back(std::move(slice));
    }
  }
  const SpreadBlock rows = multiply_rows(plan, i, a_slices, b_slices);
  std::vector<BigInt> out;
  out.reserve(plan.parts);
  for (std::uint32_t j = 0; j < plan.parts; ++j) out.push_back(block_integer(column_slice(plan, rows, j)));
  return out;
}

std::vector<BigInt> spread_inverse_part(const SpreadPlan& plan, std::uint32_t j,
                                        std::span<const std::vector<BigInt>* const> rows) {
  if (rows.size() != plan.parts)
    throw std::invalid_argument("spread product: the rows of every row part needed");
  std::vector<SpreadBlock> slices;
  slices.reserve(plan.parts);
  for (const std::vector<BigInt>* part : rows) {
    if (part->size() != plan.parts)
      throw std::invalid_argument("spread product: a row part without the columns of every column part");
    slices.push_back(block_from_integer(plan, (*part)[j], plan.row_count(), plan.col_count()));
  }
  return inverse_columns(plan, slices);
}

namespace {

double bytes_of(const SpreadLimbs& limbs) { return static_cast<double>(limbs.size() * sizeof(mp_limb_t)); }

// Times one part of a phase for the observer, when there is one.
class PartClock {
 public:
  explicit PartClock(const SpreadObserver& observe)
      : observe_(observe), start_(std::chrono::steady_clock::now()) {}
  void done(int phase, double bytes) const {
    if (observe_.part_done)
      observe_.part_done(
          phase, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(), bytes);
  }

 private:
  const SpreadObserver& observe_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

void multiply_spread(BigInt& out, const BigInt& a, const BigInt& b, std::uint32_t parts,
                     const SpreadObserver& observe) {
  if (mpz_sgn(raw(a)) == 0 || mpz_sgn(raw(b)) == 0) {
    mpz_set_ui(raw(out), 0);
    return;
  }
  const int sign = mpz_sgn(raw(a)) * mpz_sgn(raw(b));
  const SpreadPlan plan = SpreadPlan::choose(mpz_size(raw(a)), mpz_size(raw(b)), parts);
  const double others = static_cast<double>(parts - 1) / parts;  // of a phase's input, what other parts hold
  std::vector<SpreadColumns> columns;
  columns.reserve(parts);
  for (std::uint32_t j = 0; j < parts; ++j) {
    const SpreadLimbs runs_a = column_runs(plan, raw(a), j), runs_b = column_runs(plan, raw(b), j);
    const PartClock clock(observe);
    columns.push_back(forward_columns(plan, j, runs_a, runs_b));
    clock.done(0, bytes_of(runs_a) + bytes_of(runs_b));
  }
  if (observe.after_columns) observe.after_columns(columns);
  std::vector<SpreadBlock> rows;
  rows.reserve(parts);
  for (std::uint32_t i = 0; i < parts; ++i) {
    std::vector<SpreadBlock> a_slices, b_slices;
    double bytes = 0;
    for (const SpreadColumns& c : columns) {
      a_slices.push_back(spread_slice(plan, c.a, plan.first_row(i), plan.row_count()));
      b_slices.push_back(spread_slice(plan, c.b, plan.first_row(i), plan.row_count()));
      bytes += bytes_of(a_slices.back().limbs) + bytes_of(b_slices.back().limbs);
    }
    const PartClock clock(observe);
    rows.push_back(multiply_rows(plan, i, a_slices, b_slices));
    clock.done(1, bytes * others);
  }
  columns.clear();
  std::vector<std::vector<BigInt>> runs;
  runs.reserve(parts);
  double run_bytes = 0;
  for (std::uint32_t j = 0; j < parts; ++j) {
    std::vector<SpreadBlock> slices;
    slices.reserve(parts);
    double bytes = 0;
    for (const SpreadBlock& r : rows) {
      slices.push_back(column_slice(plan, r, j));
      bytes += bytes_of(slices.back().limbs);
    }
    const PartClock clock(observe);
    runs.push_back(inverse_columns(plan, slices));
    clock.done(2, bytes * others);
    for (const BigInt& r : runs.back())
      run_bytes += static_cast<double>(mpz_size(raw(r)) * sizeof(mp_limb_t));
  }
  rows.clear();
  const PartClock clock(observe);
  assemble_spread(out, plan, runs);
  clock.done(3, run_bytes);
  if (sign < 0) mpz_neg(raw(out), raw(out));
}

}  // namespace pi
