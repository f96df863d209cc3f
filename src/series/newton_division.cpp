#include "series/newton_division.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace pi {

namespace {

// Bits each Newton step and the reciprocal keep beyond the half they need: the step's error is about the
// square of the one below, so 32 more bits there leave the top step's rounding far below a unit.
constexpr std::uint64_t kGuardBits = 32;

std::uint64_t bits_of(mpz_srcptr v) { return mpz_sgn(v) == 0 ? 0 : mpz_sizeinbase(v, 2); }
std::uint64_t bits_of(const BigInt& v) { return bits_of(raw(v)); }

// v = floor(v / 2^e) for e >= 0 (the floor for a negative v too), v 2^-e for e < 0.
void shift_down(BigInt& v, std::int64_t e) {
  if (e >= 0) {
    mpz_fdiv_q_2exp(raw(v), raw(v), static_cast<mp_bitcnt_t>(e));
  } else {
    mpz_mul_2exp(raw(v), raw(v), static_cast<mp_bitcnt_t>(-e));
  }
}

// out = a b for any signs: the product of the magnitudes through the caller's function, counted in `stats`.
void counted_product(BigInt& out, const BigInt& a, const BigInt& b, const ProductFn& product,
                     NewtonStats& stats) {
  const int sign = mpz_sgn(raw(a)) * mpz_sgn(raw(b));
  if (sign == 0) {
    out = 0;
    return;
  }
  mpz_t ma, mb;  // |a| and |b|, read in place
  mpz_roinit_n(ma, mpz_limbs_read(raw(a)), static_cast<mp_size_t>(mpz_size(raw(a))));
  mpz_roinit_n(mb, mpz_limbs_read(raw(b)), static_cast<mp_size_t>(mpz_size(raw(b))));
  const std::uint64_t ba = bits_of(ma), bb = bits_of(mb);
  ++stats.products;
  stats.product_bits += static_cast<double>(ba + bb);
  stats.largest = std::max({stats.largest, ba, bb});
  product(out, ma, mb);
  if (sign < 0) mpz_neg(raw(out), raw(out));
}

class NewtonDivision {
 public:
  NewtonDivision(const ProductFn& product, NewtonStats& stats) : product_(product), stats_(stats) {}

  void multiply(BigInt& out, const BigInt& a, const BigInt& b) {
    counted_product(out, a, b, product_, stats_);
  }

  void divide(BigInt& q, const BigInt& x, const BigInt& y) {
    const std::uint64_t n = bits_of(y), nx = bits_of(x);
    if (nx < n) {  // x < 2^(n-1) <= y
      q = 0;
      return;
    }
    const std::uint64_t k = nx - n + 1;  // q < 2^k
    if (k <= kNewtonBaseBits) {
      mpz_tdiv_q(raw(q), raw(x), raw(y));
      return;
    }
    stats_.by_newton = true;
    h_ = k / 2 + kGuardBits;
    n_ = n;
    // y's top h bits (y shifted up when it is shorter), and V about 2^(2h-1) over them.
    BigInt yh = y;
    shift_down(yh, static_cast<std::int64_t>(n) - static_cast<std::int64_t>(h_));
    reciprocal(v_, yh, h_);
    yh = 0;

    // q0: x / y to about h bits, cut below the bits it gets right (its error is a few units of 2^(k-h)).
    BigInt q0;
    approximate(q0, x);
    const std::uint64_t t = k - h_ + 6;
    mpz_fdiv_q_2exp(raw(q0), raw(q0), t);
    // r = x - q0 2^t y, exactly.
    BigInt r;
    multiply(r, y, q0);
    mpz_mul_2exp(raw(r), raw(r), t);
    mpz_sub(raw(r), raw(x), raw(r));
    mpz_mul_2exp(raw(q0), raw(q0), t);
    // d: r / y to within a few units; then q = q0 + d, whose remainder r - d y is computed exactly.
    BigInt d, dy;
    approximate(d, r);
    multiply(dy, y, d);
    mpz_sub(raw(r), raw(r), raw(dy));
    dy = 0;
    mpz_add(raw(q), raw(q0), raw(d));
    // Mend q until its remainder is in [0, y): then q = floor(x / y), whatever the steps above rounded.
    std::uint64_t mended = 0;
    while (mpz_sgn(raw(r)) < 0) {
      mpz_sub_ui(raw(q), raw(q), 1);
      mpz_add(raw(r), raw(r), raw(y));
      if (++mended > kMostCorrections) too_far();
    }
    while (mpz_cmp(raw(r), raw(y)) >= 0) {
      mpz_add_ui(raw(q), raw(q), 1);
      mpz_sub(raw(r), raw(r), raw(y));
      if (++mended > kMostCorrections) too_far();
    }
    stats_.corrections += mended;
  }

 private:
  [[noreturn]] static void too_far() {
    throw std::logic_error("divide_floor_newton: the approximate quotient was off by more than " +
                           std::to_string(kMostCorrections) + " units");
  }

  // v about 2^(2h-1) / d for d of exactly h bits (so v is in (2^(h-1), 2^h], within a few units).
  void reciprocal(BigInt& v, const BigInt& d, std::uint64_t h) {
    if (h <= kNewtonBaseBits) {
      BigInt top;
      mpz_setbit(raw(top), 2 * h - 1);
      mpz_tdiv_q(raw(v), raw(top), raw(d));
      return;
    }
    // From the reciprocal of d's top l bits, vl 2^(h-l) with a relative error e0 near 2^-l, one step:
    // v = v0 + v0 e / 2^(2h-1) with e = 2^(2h-1) - d v0 leaves an error near e0^2, below 2^-(h+60).
    const std::uint64_t l = (h + 1) / 2 + kGuardBits;
    BigInt vl;
    {
      BigInt dl;
      mpz_tdiv_q_2exp(raw(dl), raw(d), h - l);
      reciprocal(vl, dl, l);
    }
    BigInt e;
    multiply(e, d, vl);
    mpz_mul_2exp(raw(e), raw(e), h - l);
    BigInt top;
    mpz_setbit(raw(top), 2 * h - 1);
    mpz_sub(raw(e), raw(top), raw(e));
    top = 0;
    // e's bits below 2^(h-4) move v by less than an eighth of a unit: they are left out of the product.
    const std::uint64_t cut = h - 4;
    mpz_fdiv_q_2exp(raw(e), raw(e), cut);
    BigInt step;
    multiply(step, vl, e);
    mpz_fdiv_q_2exp(raw(step), raw(step), h + l - 1 - cut);
    mpz_mul_2exp(raw(v), raw(vl), h - l);
    mpz_add(raw(v), raw(v), raw(step));
  }

  // out about num / y (num of either sign): num's top h + 2 bits times V. With y of n bits and V about
  // 2^(2h-1) / (y / 2^(n-h)), num / y is about num V / 2^(h+n-1).
  void approximate(BigInt& out, const BigInt& num) {
    const std::uint64_t nb = bits_of(num);
    if (nb == 0) {
      out = 0;
      return;
    }
    const std::uint64_t s = nb - std::min(nb, h_ + 2);
    BigInt top = num;
    mpz_fdiv_q_2exp(raw(top), raw(top), s);
    multiply(out, top, v_);
    shift_down(out, static_cast<std::int64_t>(h_ + n_ - 1) - static_cast<std::int64_t>(s));
  }

  const ProductFn& product_;
  NewtonStats& stats_;
  std::uint64_t h_ = 0, n_ = 0;
  BigInt v_;
};

// floor(sqrt(x)) from a reciprocal square root of x's top half (Newton's iteration for 1/sqrt, each step
// doubling its bits with three products, no division), then one step on the root itself (Karp and
// Markstein's: s0 = top v, s = s0 + (x - s0^2) v / 2), then the square exactly and the root mended.
class NewtonSqrt {
 public:
  NewtonSqrt(const ProductFn& product, NewtonStats& stats) : product_(product), stats_(stats) {}

  void root(BigInt& s, const BigInt& x) {
    const std::uint64_t nx = bits_of(x);
    const std::uint64_t k = (nx + 1) / 2;  // s has k bits
    if (k <= kNewtonBaseBits) {
      mpz_sqrt(raw(s), raw(x));
      return;
    }
    stats_.by_newton = true;
    // top: x's top bits, an even number of them cut (2 c), of 2h - 1 or 2h bits; sqrt(x) is about
    // sqrt(top) 2^c, and sqrt(top) is top v / 2^(2h) with v about 2^(2h) / sqrt(top).
    const std::uint64_t h = k / 2 + kGuardBits;
    const std::uint64_t c = k - h;
    BigInt v, s0;
    {
      BigInt top;
      mpz_tdiv_q_2exp(raw(top), raw(x), 2 * c);
      inverse_root(v, top, h);
      // s0 = sqrt(top) to within a few units: top's bits below 2^(h-4) move it by less than an eighth.
      mpz_tdiv_q_2exp(raw(top), raw(top), h - 4);
      multiply(s0, top, v);
      mpz_tdiv_q_2exp(raw(s0), raw(s0), h + 4);
    }
    // r = x - (s0 2^c)^2, exactly (of either sign); then d, about r / (2 s0 2^c) = r v / 2^(2h + c + 1),
    // from r's top bits: d has about c bits, and r's bits below those move it by far less than a unit.
    BigInt r;
    square(r, s0);
    mpz_mul_2exp(raw(r), raw(r), 2 * c);
    mpz_sub(raw(r), raw(x), raw(r));
    const std::uint64_t rb = bits_of(r);
    const std::uint64_t cut = rb > c + 2 * kGuardBits ? rb - (c + 2 * kGuardBits) : 0;
    shift_down(r, static_cast<std::int64_t>(cut));
    BigInt d;
    multiply(d, r, v);
    r = 0;
    v = 0;
    shift_down(d, static_cast<std::int64_t>(2 * h + c + 1) - static_cast<std::int64_t>(cut));
    mpz_mul_2exp(raw(s), raw(s0), c);
    mpz_add(raw(s), raw(s), raw(d));
    s0 = 0;
    mend(s, x);
  }

 private:
  // v about 2^(2H) / sqrt(t) for t in [2^(2H-2), 2^(2H)), within a few units (v in (2^H, 2^(H+1)]). From
  // v0 for t's top 2l bits, l about H/2, one Newton step for 1/sqrt(a): with y0 = v0 / 2^l and
  // a = t / 2^(2H), e = 1 - a y0^2 and y = y0 + y0 e / 2, whose error is about 3/2 of e^2.
  void inverse_root(BigInt& v, const BigInt& t, std::uint64_t big_h) {
    if (big_h <= kNewtonBaseBits) {  // floor(sqrt(floor(2^(4H) / t))): a unit or two off
      BigInt q;
      mpz_setbit(raw(q), 4 * big_h);
      mpz_tdiv_q(raw(q), raw(q), raw(t));
      mpz_sqrt(raw(v), raw(q));
      return;
    }
    const std::uint64_t l = (big_h + 1) / 2 + kGuardBits;
    BigInt v0;
    {
      BigInt tl;
      mpz_tdiv_q_2exp(raw(tl), raw(t), 2 * (big_h - l));
      inverse_root(v0, tl, l);
    }
    // e 2^(H + g) = 2^(H + g) - t v0^2 / 2^(H + 2l - g), from t's top H + g + 4 bits or so (the bits cut
    // move it by less than a quarter, v0 being at most 2^(l+1)): g = kGuardBits bits kept below the last
    // one v needs.
    constexpr std::uint64_t g = kGuardBits;
    BigInt e;
    {
      BigInt squared, th;
      square(squared, v0);
      const std::uint64_t drop = big_h - g - 4;
      mpz_tdiv_q_2exp(raw(th), raw(t), drop);
      multiply(e, squared, th);  // (the product may not write over a factor)
      shift_down(e, static_cast<std::int64_t>(big_h + 2 * l - g) - static_cast<std::int64_t>(drop));
    }
    BigInt one;
    mpz_setbit(raw(one), big_h + g);
    mpz_sub(raw(e), raw(one), raw(e));
    one = 0;
    // v = v0 2^(H - l) + v0 e / 2^(l + g + 1).
    BigInt step;
    multiply(step, v0, e);
    shift_down(step, static_cast<std::int64_t>(l + g + 1));
    mpz_mul_2exp(raw(v), raw(v0), big_h - l);
    mpz_add(raw(v), raw(v), raw(step));
  }

  // s mended by units until s^2 <= x < (s + 1)^2, from r = x - s^2 computed exactly.
  void mend(BigInt& s, const BigInt& x) {
    BigInt r;
    square(r, s);
    mpz_sub(raw(r), raw(x), raw(r));
    std::uint64_t mended = 0;
    while (mpz_sgn(raw(r)) < 0) {  // r += 2 s - 1, s -= 1
      mpz_add(raw(r), raw(r), raw(s));
      mpz_sub_ui(raw(s), raw(s), 1);
      mpz_add(raw(r), raw(r), raw(s));
      if (++mended > kMostCorrections) too_far();
    }
    for (;;) {  // while r > 2 s: r -= 2 s + 1, s += 1
      BigInt limit;
      mpz_mul_2exp(raw(limit), raw(s), 1);
      if (mpz_cmp(raw(r), raw(limit)) <= 0) break;
      mpz_sub(raw(r), raw(r), raw(limit));
      mpz_sub_ui(raw(r), raw(r), 1);
      mpz_add_ui(raw(s), raw(s), 1);
      if (++mended > kMostCorrections) too_far();
    }
    stats_.corrections += mended;
  }

  void multiply(BigInt& out, const BigInt& a, const BigInt& b) {
    counted_product(out, a, b, product_, stats_);
  }

  [[noreturn]] static void too_far() {
    throw std::logic_error("sqrt_floor_newton: the approximate root was off by more than " +
                           std::to_string(kMostCorrections) + " units");
  }

  void square(BigInt& out, const BigInt& a) { counted_product(out, a, a, product_, stats_); }

  const ProductFn& product_;
  NewtonStats& stats_;
};

}  // namespace

void divide_floor_newton(BigInt& q, const BigInt& x, const BigInt& y, const ProductFn& product,
                         NewtonStats* stats) {
  if (mpz_sgn(raw(x)) < 0 || mpz_sgn(raw(y)) <= 0)
    throw std::invalid_argument("divide_floor_newton: x must be >= 0 and y > 0, not x of sign " +
                                std::to_string(mpz_sgn(raw(x))) + " and y of sign " +
                                std::to_string(mpz_sgn(raw(y))));
  if (&q == &x || &q == &y) throw std::invalid_argument("divide_floor_newton: q may not be x or y");
  NewtonStats local;
  NewtonDivision(product, stats ? *stats : local).divide(q, x, y);
}

void sqrt_floor_newton(BigInt& s, const BigInt& x, const ProductFn& product, NewtonStats* stats) {
  if (mpz_sgn(raw(x)) < 0)
    throw std::invalid_argument("sqrt_floor_newton: x must be >= 0, not of sign " +
                                std::to_string(mpz_sgn(raw(x))));
  if (&s == &x) throw std::invalid_argument("sqrt_floor_newton: s may not be x");
  NewtonStats local;
  NewtonSqrt(product, stats ? *stats : local).root(s, x);
}

}  // namespace pi
