#include "series/slow_kernels.hpp"

#include <array>
#include <cmath>
#include <stdexcept>

// Vectors of four doubles pass between inline functions of this file only; GCC's note that their calling
// convention differs without AVX concerns exported functions.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace pi {
namespace {

// Each term kind keeps one double of state per lane, advanced by a fixed step; the value is computed from it
// in exactly one way so every lane does the same IEEE operations whatever the vector width. `value` is
// written once for a double and for a vector of them.
struct Leibniz {
  static double start(std::uint64_t k) { return 2.0 * static_cast<double>(k) + 1.0; }
  static constexpr double step = 2.0 * kLanes;
  template <class T>
  static T value(const T& d, const T& sign) {
    return sign / d;
  }
};
struct Basel {
  static double start(std::uint64_t k) { return static_cast<double>(k) + 1.0; }
  static constexpr double step = kLanes;
  template <class T>
  static T value(const T& n, const T& /*sign*/) {
    return 1.0 / (n * n);
  }
};
struct Nilakantha {
  static double start(std::uint64_t k) { return 2.0 * static_cast<double>(k) + 2.0; }
  static constexpr double step = 2.0 * kLanes;
  template <class T>
  static T value(const T& m, const T& sign) {
    return sign / ((m * (m + 1.0)) * (m + 2.0));
  }
};

double sign_of(SlowTerm term, std::uint64_t k) {
  if (term == SlowTerm::basel) return 1.0;
  return (k % 2 == 0) ? 1.0 : -1.0;
}

struct Lanes {
  std::array<double, kLanes> sum{};
  std::array<double, kLanes> carry{};  // Kahan compensation: the lane's value is sum - carry
};

// The lanes are held in explicit vectors of four doubles (GCC's and Clang's vector extensions), which the
// compiler maps to one AVX register, two SSE2 registers or four scalars: elementwise IEEE operations, so the
// bits do not depend on the mapping. GCC 12 does not vectorise the same loop written over arrays of doubles
// when the signs differ between lanes: it falls back to scalar divides at a quarter of the speed.
constexpr int kVectorWidth = 4;
constexpr int kVectors = kLanes / kVectorWidth;
static_assert(kLanes % kVectorWidth == 0);
using Vec = double __attribute__((vector_size(kVectorWidth * sizeof(double))));

template <class Term>
void run_lanes(Lanes& lanes, const std::array<double, kLanes>& sign, std::uint64_t first,
               std::uint64_t iterations) {
  Vec state[kVectors], s[kVectors], c[kVectors], sg[kVectors];
  for (int v = 0; v < kVectors; ++v) {
    for (int w = 0; w < kVectorWidth; ++w) {
      const int l = v * kVectorWidth + w;
      const auto li = static_cast<std::size_t>(l);
      state[v][w] = Term::start(first + static_cast<std::uint64_t>(l));
      s[v][w] = lanes.sum[li];
      c[v][w] = lanes.carry[li];
      sg[v][w] = sign[li];
    }
  }
  for (std::uint64_t i = 0; i < iterations; ++i) {
    for (int v = 0; v < kVectors; ++v) {
      const Vec y = Term::value(state[v], sg[v]) - c[v];
      const Vec t = s[v] + y;
      c[v] = (t - s[v]) - y;
      s[v] = t;
      state[v] += Term::step;
    }
  }
  for (int v = 0; v < kVectors; ++v) {
    for (int w = 0; w < kVectorWidth; ++w) {
      const int l = v * kVectorWidth + w;
      const auto li = static_cast<std::size_t>(l);
      lanes.sum[li] = s[v][w];
      lanes.carry[li] = c[v][w];
    }
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
