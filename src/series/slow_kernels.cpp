#include "series/slow_kernels.hpp"

#include <array>
#include <cmath>
#include <stdexcept>

namespace pi {
namespace {

// Each term kind keeps one double of state per lane, advanced by a fixed step; the value is computed from it
// in exactly one way so every lane does the same IEEE operations whatever the vector width.
struct Leibniz {
  static double start(std::uint64_t k) { return 2.0 * static_cast<double>(k) + 1.0; }
  static constexpr double step = 2.0 * kLanes;
  static double value(double d, double sign) { return sign / d; }
};
struct Basel {
  static double start(std::uint64_t k) { return static_cast<double>(k) + 1.0; }
  static constexpr double step = kLanes;
  static double value(double n, double /*sign*/) { return 1.0 / (n * n); }
};
struct Nilakantha {
  static double start(std::uint64_t k) { return 2.0 * static_cast<double>(k) + 2.0; }
  static constexpr double step = 2.0 * kLanes;
  static double value(double m, double sign) { return sign / ((m * (m + 1.0)) * (m + 2.0)); }
};

double sign_of(SlowTerm term, std::uint64_t k) {
  if (term == SlowTerm::basel) return 1.0;
  return (k % 2 == 0) ? 1.0 : -1.0;
}

struct Lanes {
  std::array<double, kLanes> sum{};
  std::array<double, kLanes> carry{};  // Kahan compensation: the lane's value is sum - carry
};

template <class Term>
void run_lanes(Lanes& lanes, const std::array<double, kLanes>& sign, std::uint64_t first,
               std::uint64_t iterations) {
  // Local copies keep the lane state in registers; through the struct the compiler fears aliasing.
  double state[kLanes], s[kLanes], c[kLanes], sg[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    state[l] = Term::start(first + static_cast<std::uint64_t>(l));
    s[l] = lanes.sum[static_cast<std::size_t>(l)];
    c[l] = lanes.carry[static_cast<std::size_t>(l)];
    sg[l] = sign[static_cast<std::size_t>(l)];
  }
  for (std::uint64_t i = 0; i < iterations; ++i) {
    for (int l = 0; l < kLanes; ++l) {
      const double y = Term::value(state[l], sg[l]) - c[l];
      const double t = s[l] + y;
      c[l] = (t - s[l]) - y;
      s[l] = t;
      state[l] += Term::step;
    }
  }
  for (int l = 0; l < kLanes; ++l) {
    lanes.sum[static_cast<std::size_t>(l)] = s[l];
    lanes.carry[static_cast<std::size_t>(l)] = c[l];
  }
}

// The tail of a range that does not fill all lanes: the same operations, lane by lane.
template <class Term>
void run_partial(Lanes& lanes, const std::array<double, kLanes>& sign, std::uint64_t first, int count) {
  for (int l = 0; l < count; ++l) {
    const auto li = static_cast<std::size_t>(l);
    const double y = Term::value(Term::start(first + li), sign[li]) - lanes.carry[li];
    const double t = lanes.sum[li] + y;
    lanes.carry[li] = (t - lanes.sum[li]) - y;
    lanes.sum[li] = t;
  }
}

template <class Term>
Lanes sum_lanes(SlowTerm term, Range range) {
  Lanes lanes;
  std::array<double, kLanes> sign{};
  for (int l = 0; l < kLanes; ++l)
    sign[static_cast<std::size_t>(l)] = sign_of(term, range.begin + static_cast<std::uint64_t>(l));
  const std::uint64_t full = range.size() / kLanes;
  run_lanes<Term>(lanes, sign, range.begin, full);
  run_partial<Term>(lanes, sign, range.begin + full * kLanes, static_cast<int>(range.size() % kLanes));
  return lanes;
}

void add_fixed(BigInt& acc, double x, bool negate) {
  const double scaled = std::ldexp(x, kFixedPointBits);
  if (std::trunc(scaled) != scaled)
    throw std::logic_error("slow series: lane value below the fixed-point grid");
  BigInt v;
  mpz_set_d(raw(v), scaled);
  if (negate) {
    mpz_sub(raw(acc), raw(acc), raw(v));
  } else {
    mpz_add(raw(acc), raw(acc), raw(v));
  }
}

}  // namespace

BigInt sum_range_fixed(SlowTerm term, Range range) {
  Lanes lanes;
  switch (term) {
    case SlowTerm::leibniz:
      lanes = sum_lanes<Leibniz>(term, range);
      break;
    case SlowTerm::basel:
      lanes = sum_lanes<Basel>(term, range);
      break;
    case SlowTerm::nilakantha:
      lanes = sum_lanes<Nilakantha>(term, range);
      break;
  }
  BigInt acc = 0;
  for (std::size_t l = 0; l < kLanes; ++l) {
    add_fixed(acc, lanes.sum[l], false);
    add_fixed(acc, lanes.carry[l], true);
  }
  return acc;
}

double sum_range_naive(SlowTerm term, Range range) {
  double s = 0.0;
  for (std::uint64_t k = range.begin; k < range.end; ++k) {
    const double sign = sign_of(term, k);
    switch (term) {
      case SlowTerm::leibniz:
        s += Leibniz::value(Leibniz::start(k), sign);
        break;
      case SlowTerm::basel:
        s += Basel::value(Basel::start(k), sign);
        break;
      case SlowTerm::nilakantha:
        s += Nilakantha::value(Nilakantha::start(k), sign);
        break;
    }
  }
  return s;
}

}  // namespace pi
