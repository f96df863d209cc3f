// Strong scaling of a fast-series job past this machine: the real Scheduler (the one pi-job runs) driven by
// a discrete-event executor on a simulated cluster of single-core hosts. Host 0 is rank 0; hosts 1..W are
// the workers. Each task's compute time comes from a cost model measured on this machine when the program
// starts (GMP multiplication times by size, and the real evaluation, merge, final steps and conversion
// code timed against the model); each transfer takes the link's latency plus its bytes at the link's
// bandwidth, and a host's link carries one transfer at a time each way. Rank 0's own time is the real time
// its scheduler calls take here.
//
// Two data planes: `direct` (pieces stay on the worker that made them; a task fetches its operands from
// their owners: pi-job today) and `star` (every piece goes to rank 0 when made and every operand comes
// from it: pi-job before its pieces stayed on workers). Both with the same scheduler and tasks.
//
//   bench_simulate --digits 100000000 --hosts 4,16,64,256 [--plane direct,star] [--gbps 25] [--latency-us 2]
//
// Prints the calibration, then one line per run (hosts, plane, simulated seconds, phases, efficiency,
// bytes moved and through rank 0, peak bytes held), and with --json FILE the same as JSON lines.
#include <gmp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "coordinator/grid.hpp"
#include "coordinator/job.hpp"
#include "coordinator/progress.hpp"
#include "coordinator/scheduler.hpp"
#include "coordinator/task.hpp"
#include "series/bigint.hpp"
#include "series/decimal.hpp"
#include "series/series.hpp"
#include "series/spread_product.hpp"

namespace {

using pi::BigInt;
using pi::PieceRef;
using pi::Range;
using pi::Scheduler;
using pi::Shape;
using pi::Task;
using pi::TaskKind;
using pi::TaskOutput;

using pi::seconds_since;

// Wall times of several items, taken in rounds (each item once a round, repeated until it took 20 ms); the
// least of each is kept.
class Timings {
 public:
  std::size_t add(std::function<void()> f) {
    items_.push_back(std::move(f));
    least_.push_back(std::numeric_limits<double>::infinity());
    return items_.size() - 1;
  }
  void run(int rounds) {
    for (int r = 0; r < rounds; ++r) {
      for (std::size_t i = 0; i < items_.size(); ++i) {
        int n = 0;
        const auto t0 = std::chrono::steady_clock::now();
        do {
          items_[i]();
          ++n;
        } while (seconds_since(t0) < 0.02);
        least_[i] = std::min(least_[i], seconds_since(t0) / n);
      }
    }
  }
  double least(std::size_t i) const { return least_.at(i); }

 private:
  std::vector<std::function<void()>> items_;
  std::vector<double> least_;
};

BigInt random_bits(std::mt19937_64& rng, std::uint64_t bits) {
  BigInt x;
  std::vector<std::uint64_t> limbs((bits + 63) / 64);
  for (auto& l : limbs) l = rng();
  mpz_import(pi::raw(x), limbs.size(), -1, 8, 0, 0, limbs.data());
  mpz_setbit(pi::raw(x), bits - 1);
  return x;
}

// Bits of the values of Chudnovsky's partial results, from the term formulas (fast_series.cpp): P, Q and
// T of [a, b) from prefix sums of log2 |p(k)| and log2 q(k); T is dominated by its first term.
class ChudnovskyShapes {
 public:
  explicit ChudnovskyShapes(std::uint64_t terms) : lp_(terms + 2, 0), lq_(terms + 2, 0), terms_(terms) {
    for (std::uint64_t k = 1; k <= terms; ++k) {
      const auto x = static_cast<double>(k);
      lp_[k + 1] = lp_[k] + std::log2((6 * x - 5) * (2 * x - 1) * (6 * x - 1));
      lq_[k + 1] = lq_[k] + std::log2(x * x * x * 10939058860032000.0);
    }
  }
  double p(std::uint64_t a, std::uint64_t b) const { return lp_[b] - lp_[a] + 1; }
  double q(std::uint64_t a, std::uint64_t b) const { return lq_[b] - lq_[a] + 1; }
  double t(std::uint64_t a, std::uint64_t b) const {
    const auto x = static_cast<double>(a);
    const double first =
        a == 0 ? std::log2(13591409.0)
               : std::log2(545140134 * x + 13591409) + (lp_[a + 1] - lp_[a]) - (lq_[a + 1] - lq_[a]);
    return std::max(1.0, q(a, b) + first);
  }
  // The shape pi-job's workers report for [a, b): P (0 when the range ends the job), Q, T.
  Shape shape(Range r) const {
    const bool suffix = r.end == terms_ && r.size() >= 2;
    return {suffix ? 0 : -static_cast<std::int64_t>(p(r.begin, r.end)),
            static_cast<std::int64_t>(q(r.begin, r.end)), static_cast<std::int64_t>(t(r.begin, r.end))};
  }
  std::uint64_t terms() const { return terms_; }

 private:
  std::vector<double> lp_, lq_;
  std::uint64_t terms_;
};

// Compute seconds of each kind of task on this machine: GMP's multiplication time by size (measured), the
// binary splitting's multiplications counted from the shapes, and per kind a factor measured by timing
// pi-job's own task code against the model.
class CostModel {
 public:
  CostModel(const pi::Series& series, const pi::Grid& grid, const ChudnovskyShapes& shapes,
            std::uint64_t calibration_digits, int rounds, std::ostream& log)
      : shapes_(&shapes) {
    // Every timing is taken in rounds, each item once a round, and the least kept: on a shared machine a
    // neighbour only adds time, and a noisy second then spoils one sample of each item, not all of one.
    Timings timings;
    std::mt19937_64 rng(1);
    // Four sizes an octave: GMP's FFT sizes go in steps, which points an octave apart would miss.
    std::vector<std::array<BigInt, 3>> operands;
    operands.reserve(81);
    for (int k = 24; k <= 104; ++k) {
      const auto bits = static_cast<std::uint64_t>(std::exp2(k / 4.0));
      std::array<BigInt, 3>& abc = operands.emplace_back(
          std::array<BigInt, 3>{random_bits(rng, bits), random_bits(rng, bits), BigInt()});
      mul_.emplace_back(static_cast<double>(bits), 0);
      timings.add([&abc] { mpz_mul(pi::raw(abc[2]), pi::raw(abc[0]), pi::raw(abc[1])); });
    }
    // Unbalanced products: a 2^20-bit number times 2, 4, 16 and 64 times as many bits, against as many
    // balanced products of the smaller size (GMP's cost is not simply proportional to the ratio).
    const BigInt small = random_bits(rng, 1 << 20);
    std::vector<std::pair<BigInt, BigInt>> wide;
    wide.reserve(4);
    std::vector<std::size_t> unbalanced;
    for (const int ratio : {2, 4, 16, 64}) {
      std::pair<BigInt, BigInt>& w = wide.emplace_back(
          random_bits(rng, (std::uint64_t{1} << 20) * static_cast<std::uint64_t>(ratio)), BigInt());
      unbalanced.push_back(
          timings.add([&small, &w] { mpz_mul(pi::raw(w.second), pi::raw(small), pi::raw(w.first)); }));
      unbalance_.emplace_back(std::log(ratio), 0);
    }
    const BigInt add_a = random_bits(rng, 1 << 24), add_b = random_bits(rng, 1 << 24);
    BigInt add_c;
    const std::size_t add = timings.add([&] { mpz_add(pi::raw(add_c), pi::raw(add_a), pi::raw(add_b)); });

    // Evaluations of the simulated job's own leaves (its first, middle and last grid range), and a merge of
    // eight of its middle leaves with the next eight; the top merge of a job of calibration_digits; that
    // job's final division and square root, and its conversion in one block.
    std::vector<Range> leaves{grid.range(0), grid.range(grid.size() / 2), grid.range(grid.size() - 2)};
    std::vector<std::size_t> evaluations;
    evaluations.reserve(leaves.size());
    for (const Range& r : leaves)
      evaluations.push_back(timings.add([&series, r] { (void)series.evaluate(r, false); }));
    const Range small_left = grid.span(grid.size() / 2, grid.size() / 2 + 8);
    const Range small_right = grid.span(grid.size() / 2 + 8, grid.size() / 2 + 16);
    const pi::PartialResult small_l = series.evaluate(small_left, false);
    const pi::PartialResult small_r = series.evaluate(small_right, false);
    const std::size_t small_merge = timings.add([&] { (void)series.combine(small_l, small_r); });
    const std::uint64_t cal_terms = pi::plan_terms(series, calibration_digits);
    const ChudnovskyShapes cal_shapes(cal_terms);
    const pi::PartialResult left = series.evaluate(Range{0, cal_terms / 2}, false);
    const pi::PartialResult right = series.evaluate(Range{cal_terms / 2, cal_terms}, true);
    const std::size_t merge = timings.add([&] { (void)series.combine(left, right); });
    const std::uint64_t bits = pi::bits_for_digits(calibration_digits + 20) + 64;
    Task steps;
    steps.work = pi::FinalSteps{
        PieceRef::held_here(std::make_shared<const pi::PartialResult>(series.combine(left, right))), bits, 0,
        false, std::nullopt};
    const TaskOutput fraction = pi::execute_final_steps(series, steps);
    // The final steps with the constant at hand (the first call above left it in the series' cache), and the
    // constant alone, on a series of its own each time (a task on another worker, or the part a worker
    // without one adds to its final steps).
    const std::size_t final_steps = timings.add([&] { (void)pi::execute_final_steps(series, steps); });
    const std::size_t constant =
        timings.add([bits] { (void)pi::make_series("chudnovsky")->constant_piece(bits); });
    Task block;
    const std::uint64_t decimals = calibration_digits + pi::kGuardDecimals;
    block.work = pi::Digits{PieceRef::held_here(std::make_shared<const pi::PartialResult>(fraction.result)),
                            fraction.summary->scale_bits,
                            0,
                            decimals,
                            std::nullopt,
                            0};
    const std::size_t conversion = timings.add([&] { (void)pi::execute_digits(block); });
    // A spread product's phases (16 parts; the compute summed over the parts hardly depends on their
    // number: bench/README "A product in parts"), against the model's product of the same factors.
    const BigInt spread_a = random_bits(rng, kSpreadCalibrationBits),
                 spread_b = random_bits(rng, kSpreadCalibrationBits);
    std::array<double, 4> spread_phase{};
    std::array<double, 4> spread_least{1e30, 1e30, 1e30, 1e30};
    timings.add([&] {
      spread_phase = {};
      pi::SpreadObserver observe;
      observe.part_done = [&](int phase, double seconds, double) {
        spread_phase[static_cast<std::size_t>(phase)] += seconds;
      };
      BigInt product;
      pi::multiply_spread(product, spread_a, spread_b, 16, observe);
      for (std::size_t k = 0; k < 4; ++k) spread_least[k] = std::min(spread_least[k], spread_phase[k]);
    });
    timings.run(rounds);

    for (std::size_t i = 0; i < mul_.size(); ++i) mul_[i].second = timings.least(i);
    add_per_bit_ = timings.least(add) / (1 << 24);
    for (std::size_t i = 0; i < unbalanced.size(); ++i) {
      const double ratio = std::exp(unbalance_[i].first);
      unbalance_[i].second = timings.least(unbalanced[i]) / (ratio * balanced(1 << 20));
    }
    double real = 0, model = 0;
    for (std::size_t i = 0; i < leaves.size(); ++i) {
      real += timings.least(evaluations[i]);
      model += evaluation(leaves[i]);
    }
    eval_factor_ = real / model;
    merge_points_[0] = {std::log(merge_bits(small_left, small_right)),
                        timings.least(small_merge) / merge_muls(small_left, small_right)};
    shapes_ = &cal_shapes;
    const Range top_left{0, cal_terms / 2}, top_right{cal_terms / 2, cal_terms};
    merge_points_[1] = {std::log(merge_bits(top_left, top_right)),
                        timings.least(merge) / merge_muls(top_left, top_right)};
    final_factor_ = timings.least(final_steps) / mul(static_cast<double>(bits), static_cast<double>(bits));
    constant_factor_ = timings.least(constant) / mul(static_cast<double>(bits), static_cast<double>(bits));
    conversion_factor_ = timings.least(conversion) / conversion_muls(decimals);
    for (std::size_t k = 0; k < 3; ++k)
      spread_share_[k] = spread_least[k] / mul(kSpreadCalibrationBits, kSpreadCalibrationBits);
    shapes_ = &shapes;
    log << "calibration (this machine, least of " << rounds << " rounds): mpz_mul of two 2^16-bit numbers "
        << mul(1 << 16, 1 << 16) * 1e6 << " us, 2^20 " << mul(1 << 20, 1 << 20) * 1e3 << " ms, 2^26 "
        << mul(1 << 26, 1 << 26) << " s\n"
        << "calibration: unbalanced products against as many balanced ones of the smaller size:";
    for (const auto& [x, f] : unbalance_) log << " " << std::exp(x) << ":1 " << f;
    log << "; so a slice of 1/16 of a 2^26-bit factor against the other whole costs "
        << mul(1 << 26, 1 << 22) / mul(1 << 26, 1 << 26) << " of their whole product\n"
        << "calibration: pi-job's code against the model: evaluations " << eval_factor_ << ", merges "
        << merge_points_[0].second << " (" << std::exp(merge_points_[0].first) << " bits) to "
        << merge_points_[1].second << " (" << std::exp(merge_points_[1].first) << " bits); at "
        << calibration_digits << " digits the top merge took " << timings.least(merge)
        << " s, the final steps " << timings.least(final_steps) << " s (" << final_factor_
        << " multiplications of the full size) and their constant " << timings.least(constant) << " s ("
        << constant_factor_ << "), the conversion " << timings.least(conversion) << " s\n"
        << "calibration: a spread product of two 2^" << std::log2(kSpreadCalibrationBits)
        << "-bit factors in 16 parts, each phase summed over its parts against the model's product: columns "
        << spread_share_[0] << ", rows " << spread_share_[1] << ", inverse columns " << spread_share_[2]
        << "\n";
  }

  // The final steps' products as the division by Newton's iteration and the multiplication by the constant
  // make them at `bits` bits (Series::estimate_with), each one's size and time here, and the time of the
  // work between them: timed once, on random reals of that precision (only their sizes matter), for the
  // simulated final steps whose large products are spread over the workers (FinalSteps::spread_bits). The
  // final steps' other work (the prefix's rounding, the summary) is left out of those simulated steps.
  struct FinalProduct {
    double a_bits, b_bits, seconds;
  };
  void time_final_products(std::uint64_t bits, std::ostream& log) {
    std::mt19937_64 rng(3);
    const auto real = [&] {
      pi::Real x = pi::make_real(bits);
      mpfr_set_z(pi::raw(x), pi::raw(random_bits(rng, bits)), MPFR_RNDN);
      return x;
    };
    const pi::Real q = real(), t = real(), c = real();
    final_products_.clear();
    double in_products = 0;
    const pi::ProductFn timed = [&](BigInt& out, mpz_srcptr a, mpz_srcptr b) {
      const auto t0 = std::chrono::steady_clock::now();
      pi::multiply(out, a, b);
      const double took = seconds_since(t0);
      in_products += took;
      final_products_.push_back(FinalProduct{static_cast<double>(mpz_sizeinbase(a, 2)),
                                             static_cast<double>(mpz_sizeinbase(b, 2)), took});
    };
    auto t0 = std::chrono::steady_clock::now();
    pi::Real quotient = pi::make_real(bits), value = pi::make_real(bits);
    pi::divide_nearest(quotient, q, t, timed);
    pi::multiply_nearest(value, quotient, c, timed);
    final_between_s_ = seconds_since(t0) - in_products;
    log << "calibration: the final steps' division by Newton's iteration and product by the constant at "
        << bits << " bits: " << final_products_.size() << " products, " << in_products << " s, and "
        << final_between_s_ << " s between them\n";
    // The constant's square root (chudnovsky's, sqrt(10005)) the same way.
    const std::vector<FinalProduct> division = std::exchange(final_products_, {});
    in_products = 0;
    t0 = std::chrono::steady_clock::now();
    (void)pi::make_series("chudnovsky")->constant_piece_with(bits, timed);
    constant_between_s_ = seconds_since(t0) - in_products;
    constant_products_ = std::exchange(final_products_, division);
    log << "calibration: the constant's square root by Newton's iteration: " << constant_products_.size()
        << " products, " << in_products << " s, and " << constant_between_s_ << " s between them\n";
  }
  // The final steps' split of the decimals into `parts` parts (FinalSteps::split_parts): split_decimals of a
  // random fraction of `bits` bits, timed once, its products' sizes and times (after the division's and the
  // constant's, in final_and_split), the time between them, and the parts it cut.
  struct Split {
    std::vector<FinalProduct> final_and_split;  // final_products(), then the split's
    double products_s = 0;                      // the split's products, summed
    double between_s = 0;
    std::vector<pi::FinalSummary::Part> parts;
    Shape shape;  // the final piece's: the fraction, then each part's value
  };
  void time_split(std::uint64_t bits, std::uint64_t decimals, std::uint64_t parts, std::ostream& log) {
    if (splits_.contains(parts)) return;
    std::mt19937_64 rng(5);
    const BigInt f = random_bits(rng, bits - 2);  // a value below 1/4: no integer part
    Split split{final_products_, 0, 0, {}, {static_cast<std::int64_t>(bits)}};
    double& in_products = split.products_s;
    std::size_t products = 0;
    const pi::ProductFn timed = [&](BigInt& out, mpz_srcptr a, mpz_srcptr b) {
      const auto t0 = std::chrono::steady_clock::now();
      pi::multiply(out, a, b);
      const double took = seconds_since(t0);
      in_products += took;
      ++products;
      split.final_and_split.push_back(FinalProduct{static_cast<double>(mpz_sizeinbase(a, 2)),
                                                   static_cast<double>(mpz_sizeinbase(b, 2)), took});
    };
    const auto t0 = std::chrono::steady_clock::now();
    const auto cut = pi::split_decimals(f, bits, decimals, parts, timed);
    split.between_s = seconds_since(t0) - in_products;
    if (!cut) throw std::runtime_error("the calibration's split was refused (a straddle: another seed)");
    for (const pi::DecimalPart& part : *cut) {
      split.parts.push_back(pi::FinalSummary::Part{part.first, part.count, part.scale_bits, 0});
      split.shape.push_back(static_cast<std::int64_t>(mpz_sizeinbase(pi::raw(part.y), 2)));
    }
    log << "calibration: the split of " << decimals << " decimals into " << parts << " parts: " << products
        << " products, " << in_products << " s, and " << split.between_s << " s between them\n";
    splits_.emplace(parts, std::move(split));
  }
  const Split* split(std::uint64_t parts) const {
    const auto it = splits_.find(parts);
    return it == splits_.end() ? nullptr : &it->second;
  }
  const std::vector<FinalProduct>& final_products() const { return final_products_; }
  double final_between() const { return final_between_s_; }
  const std::vector<FinalProduct>& constant_products() const { return constant_products_; }
  double constant_between() const { return constant_between_s_; }

  // GMP's time for an a-bit by b-bit product: the table, interpolated in log-log; past it n log n; an
  // unbalanced product as b/a balanced ones of the smaller size, times the factor measured for that ratio
  // (interpolated in log ratio; the last one's past 64).
  double mul(double a, double b) const {
    if (a > b) std::swap(a, b);
    a = std::max(a, 64.0);
    const double ratio = b / a;
    double factor = 1;
    const double x = std::log(ratio);
    if (x <= unbalance_.front().first) {
      factor = 1 + (unbalance_.front().second - 1) * x / unbalance_.front().first;
    } else if (x >= unbalance_.back().first) {
      factor = unbalance_.back().second;
    } else {
      for (std::size_t i = 1; i < unbalance_.size(); ++i) {
        if (x > unbalance_[i].first) continue;
        const auto& [x0, f0] = unbalance_[i - 1];
        const auto& [x1, f1] = unbalance_[i];
        factor = f0 + (f1 - f0) * (x - x0) / (x1 - x0);
        break;
      }
    }
    return ratio * balanced(a) * factor;
  }
  double evaluation(Range r) const {
    if (r.size() == 0) return 0;
    return eval_factor_ * split_muls(r.begin, r.end, r.end != shapes_->terms());
  }
  // A merge's multiplications, times the factor measured at its size (interpolated in log size between the
  // two merges timed, the nearer one's outside them).
  double merge(Range l, Range r) const {
    const auto& [x0, f0] = merge_points_[0];
    const auto& [x1, f1] = merge_points_[1];
    const double x = std::clamp(std::log(merge_bits(l, r)), x0, x1);
    return (f0 + (f1 - f0) * (x - x0) / (x1 - x0)) * merge_muls(l, r);
  }
  double product(double left_bits, double right_bits) const { return mul(left_bits, right_bits); }
  double assembly(double bits) const { return 4 * add_per_bit_ * bits; }
  double final_steps(double bits) const { return final_factor_ * mul(bits, bits); }
  double constant(double bits) const { return constant_factor_ * mul(bits, bits); }
  // One part of a spread product's phase: the phase's share of the product (calibrated) over the parts.
  double spread(const pi::Spread& part) const {
    const auto a = static_cast<double>(part.left_limbs * 64), b = static_cast<double>(part.right_limbs * 64);
    return spread_share_.at(std::min<std::uint32_t>(part.phase, 2)) * mul(a, b) / part.parts;
  }
  // A block of `count` decimals starting at `first` of a fraction of `bits` bits: the conversion of its
  // share, plus for a later block the multiplication of the fraction by 5^first.
  double digits(std::uint64_t first, std::uint64_t count, double bits) const {
    const double share = conversion_factor_ * conversion_muls(count);
    return first == 0 ? share : share + mul(bits, static_cast<double>(first) * 2.33);
  }

 private:
  double balanced(double bits) const {
    const auto& [b_max, t_max] = mul_.back();
    if (bits >= b_max) return t_max * (bits / b_max) * std::log2(bits) / std::log2(b_max);
    auto hi =
        std::lower_bound(mul_.begin(), mul_.end(), bits, [](const auto& e, double b) { return e.first < b; });
    if (hi == mul_.begin()) return hi->second;
    const auto lo = hi - 1;
    const double f = (std::log(bits) - std::log(lo->first)) / (std::log(hi->first) - std::log(lo->first));
    return std::exp(std::log(lo->second) + f * (std::log(hi->second) - std::log(lo->second)));
  }
  // The multiplications of one binary-splitting merge of [a, m) and [m, b) (binary_splitting.cpp).
  double node_muls(std::uint64_t a, std::uint64_t m, std::uint64_t b, bool need_p) const {
    const ChudnovskyShapes& s = *shapes_;
    double t = mul(s.t(a, m), s.q(m, b)) + mul(s.p(a, m), s.t(m, b)) + mul(s.q(a, m), s.q(m, b));
    if (need_p) t += mul(s.p(a, m), s.p(m, b));
    return t;
  }
  double split_muls(std::uint64_t a, std::uint64_t b, bool need_p) const {
    if (b - a == 1) return 0;
    const std::uint64_t m = a + (b - a) / 2;
    return split_muls(a, m, true) + split_muls(m, b, need_p) + node_muls(a, m, b, need_p);
  }
  double merge_bits(Range l, Range r) const {
    return shapes_->q(l.begin, r.end) + shapes_->p(l.begin, r.end) + shapes_->t(l.begin, r.end);
  }
  double merge_muls(Range l, Range r) const {
    return node_muls(l.begin, l.end, r.end, r.end != shapes_->terms());
  }
  // Divide and conquer by powers of ten: about log2 of the size levels, each a few multiplications of the
  // whole size.
  double conversion_muls(std::uint64_t decimals) const {
    const double bits = static_cast<double>(decimals) * 3.33;
    return mul(bits, bits) * std::log2(std::max(bits / 64, 2.0));
  }

  const ChudnovskyShapes* shapes_;
  std::vector<std::pair<double, double>> mul_;  // (bits, seconds)
  // (log ratio, seconds over ratio times the balanced product's) for a 2^20-bit factor
  std::vector<std::pair<double, double>> unbalance_;
  static constexpr double kSpreadCalibrationBits = 1 << 24;
  std::vector<FinalProduct> final_products_, constant_products_;
  std::map<std::uint64_t, Split> splits_;  // by parts
  double final_between_s_ = 0, constant_between_s_ = 0;
  std::array<double, 3> spread_share_{};
  double add_per_bit_ = 0;
  double eval_factor_ = 1, final_factor_ = 1, constant_factor_ = 1, conversion_factor_ = 1;
  std::array<std::pair<double, double>, 2> merge_points_{};  // (log bits, real/model)
};

enum class Plane { direct, star };

struct Network {
  double bytes_per_s;
  double latency_s;
};

// One simulated run.
class Simulation {
 public:
  Simulation(const pi::Series& series, const pi::Grid& grid, const ChudnovskyShapes& shapes,
             const CostModel& cost, Network net, Plane plane, int workers, pi::SchedulerConfig config = {},
             double lose_at = -1)
      : series_(series),
        grid_(grid),
        shapes_(shapes),
        cost_(cost),
        net_(net),
        plane_(plane),
        workers_(workers),
        out_free_(static_cast<std::size_t>(workers + 1), 0),
        in_free_(static_cast<std::size_t>(workers + 1), 0),
        queues_(static_cast<std::size_t>(workers)),
        running_(static_cast<std::size_t>(workers), false),
        held_(static_cast<std::size_t>(workers + 1), 0),
        peak_(static_cast<std::size_t>(workers + 1), 0),
        busy_(static_cast<std::size_t>(workers), 0),
        dead_(static_cast<std::size_t>(workers), false),
        config_(config),
        lose_at_(lose_at) {}

  nlohmann::json run(std::uint64_t digits) {
    const std::uint64_t bits = pi::bits_for_digits(digits + 20) + 64;
    Scheduler scheduler(series_, grid_, config_, workers_);
    current_ = &scheduler;
    scheduler.hold_on_workers(
        [](const PieceRef&) -> std::shared_ptr<const pi::PartialResult> {
          throw std::logic_error("the simulation has no checkpoints: rank 0 never fetches a piece");
        },
        0);
    pi::FinalSteps steps{PieceRef{}, bits, 0, false, std::nullopt};
    steps.decimals = digits + pi::kGuardDecimals;  // as pi-job's (the split's, FinalSteps::split_parts)
    scheduler.finish_on_workers(std::move(steps), false);
    for (int w = 0; w < workers_; ++w) at(net_.latency_s, [this, w] { ready(w); });
    if (lose_at_ >= 0) at(lose_at_, [this] { lose_biggest(); });
    drain();
    const double series_end = now_;
    const double moved_before_conversion = bytes_moved_;
    const pi::FinalSummary& summary = *scheduler.final_summary();
    const std::uint64_t decimals = digits + pi::kGuardDecimals;
    scheduler.convert(*scheduler.final_fraction(), summary.scale_bits, decimals,
                      Scheduler::conversion_blocks(decimals, static_cast<std::uint64_t>(workers_)));
    // Every worker is idle now (in idle_, each asked and given nothing).
    at(now_, [this] { dispatch(); });
    if (lost_ >= 0) look_at_deadlines();
    drain();

    double busy = 0;
    for (double b : busy_) busy += b;
    double worker_peak = 0;
    for (int w = 1; w <= workers_; ++w)
      worker_peak = std::max(worker_peak, peak_[static_cast<std::size_t>(w)]);
    return {{"hosts", workers_ + 1},
            {"plane", plane_ == Plane::direct ? "direct" : "star"},
            {"conversion_parts", scheduler.piece_stats().conversion_parts},
            {"seconds", now_},
            {"evaluations_end_s", evaluations_end_},
            {"root_s", root_at_},
            {"root_made_s", root_made_},
            {"final_steps_end_s", series_end},
            {"conversion_s", now_ - series_end},
            {"worker_busy_s", busy},
            {"bytes_moved", bytes_moved_},
            {"conversion_bytes_moved", bytes_moved_ - moved_before_conversion},
            {"bytes_through_rank0", bytes_rank0_},
            {"rank0_busy_s", rank0_busy_},
            {"rank0_peak_bytes", peak_[0]},
            {"worker_peak_bytes", worker_peak},
            {"tasks", tasks_},
            {"lost_worker_rank", lost_ >= 0 ? lost_ + 1 : -1},
            {"lost_at_s", lose_at_},
            {"lost_bytes", lost_bytes_},
            {"recompute_parts", config_.recompute_parts},
            {"constant_s", scheduler.times().constant_s},
            {"final_with_constant", scheduler.times().final_with_constant},
            {"spread_parts", scheduler.piece_stats().spread_parts},
            {"final_products_spread", scheduler.piece_stats().final_products}};
  }

 private:
  struct Event {
    double t;
    std::uint64_t seq;
    std::function<void()> f;
    bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  void at(double t, std::function<void()> f) { events_.push(Event{t, seq_++, std::move(f)}); }
  void drain() {
    while (!current_->finished()) {
      if (events_.empty())
        throw std::logic_error("simulation: no event left and the scheduler is not finished");
      Event e = events_.top();
      events_.pop();
      now_ = e.t;
      e.f();
    }
  }
  Scheduler::Clock::time_point clock() const {
    return Scheduler::Clock::time_point{} +
           std::chrono::duration_cast<Scheduler::Clock::duration>(std::chrono::duration<double>(now_));
  }

  // A transfer of `bytes` from host `src` to host `dst` ready at `t`: when it has arrived. Each host's link
  // carries one transfer at a time each way.
  double transfer(int src, int dst, double bytes, double t) {
    if (src == dst || bytes <= 0) return t;
    auto& out = out_free_[static_cast<std::size_t>(src)];
    auto& in = in_free_[static_cast<std::size_t>(dst)];
    const double start = std::max({t, out, in});
    const double end = start + bytes / net_.bytes_per_s;
    out = in = end;
    bytes_moved_ += bytes;
    if (src == 0 || dst == 0) bytes_rank0_ += bytes;
    return end + net_.latency_s;
  }
  static constexpr double kMessageBytes = 256;  // a task, a result's metadata, a fetch request
  static constexpr double kSilentSeconds = 30;  // pi-job's (mpi/distributed.hpp)

  // Rank 0's side: each handler runs when rank 0 is free, and takes the real time its scheduler calls take.
  void on_rank0(std::function<void()> f) {
    const double start = std::max(now_, rank0_free_);
    at(start, [this, f = std::move(f)] {
      const auto t0 = std::chrono::steady_clock::now();
      f();
      if (current_)
        for (const std::string& notice : current_->take_notices())
          if (verbose_) std::cerr << "[" << now_ << " s] " << notice << "\n";
      const double took = rank0_call_s_ >= 0 ? rank0_call_s_ : seconds_since(t0);
      rank0_busy_ += took;
      rank0_free_ = now_ + took;
    });
  }
  void ready(int w) {
    on_rank0([this, w] {
      idle_.push_back(w);
      dispatch();
    });
  }
  // As MpiExecutor::dispatch: every idle worker is asked, then workers whose tasks are short get more.
  void dispatch() {
    Scheduler& scheduler = *current_;
    bool gave_none = false;
    for (auto it = idle_.begin(); it != idle_.end();) {
      std::optional<Task> task = scheduler.assign(*it, clock());
      if (!task) {
        gave_none = true;
        ++it;
        continue;
      }
      send(*it, std::move(*task));
      topping_up_.push_back(*it);
      it = idle_.erase(it);
    }
    if (gave_none) return;
    while (!topping_up_.empty()) {
      const int w = topping_up_.front();
      while (scheduler.wants_another_task(w)) {
        std::optional<Task> task = scheduler.assign(w, clock());
        if (!task) {
          topping_up_.clear();
          return;
        }
        send(w, std::move(*task));
      }
      topping_up_.pop_front();
    }
  }
  void send(int w, Task task) {
    ++tasks_;
    const double arrives = transfer(0, w + 1, kMessageBytes, std::max(now_, rank0_free_));
    at(arrives, [this, w, task = std::move(task)]() mutable {
      queues_[static_cast<std::size_t>(w)].push_back(std::move(task));
      if (!running_[static_cast<std::size_t>(w)]) start(w);
    });
  }

  // Where a piece's bytes come from: its owner, or rank 0 in the star.
  int source_of(const PieceRef& piece) const { return plane_ == Plane::star ? 0 : piece.owner + 1; }
  double bytes_of(const PieceRef& piece, std::optional<std::uint32_t> value = std::nullopt) const {
    const Shape shape = piece.here() ? pi::shape_of(*piece.data) : piece.shape;
    if (value) return std::abs(static_cast<double>(shape.at(*value))) / 8;
    return pi::shape_bits(shape) / 8;
  }

  // Worker w starts its next task: fetches the operands another host holds (all at once), then computes.
  void start(int w) {
    auto& queue = queues_[static_cast<std::size_t>(w)];
    if (queue.empty()) {
      running_[static_cast<std::size_t>(w)] = false;
      return;
    }
    running_[static_cast<std::size_t>(w)] = true;
    Task task = std::move(queue.front());
    queue.pop_front();
    double ready = now_;
    double operands = 0;
    std::optional<PieceRef> unreachable;
    const auto need = [&](const PieceRef& piece, std::optional<std::uint32_t> value, double share = 1.0) {
      const double bytes = bytes_of(piece, value) * share;
      // An operand this worker holds is in held_ already: a worker reads it in place.
      if (plane_ == Plane::direct && piece.owner == w) return;
      operands += bytes;
      if (!piece.here() && dead_[static_cast<std::size_t>(piece.owner)]) {
        unreachable = piece;
        return;
      }
      const int src = source_of(piece);
      const double asked = now_ + net_.latency_s;
      ready = std::max(ready, transfer(src, w + 1, bytes, asked));
    };
    double compute = 0;
    std::optional<FinalChain> chain;
    Shape shape;
    Range range = grid_.span(task.first_range, task.end_range);
    std::shared_ptr<const pi::FinalSummary> summary;
    std::string digits;
    if (const auto* e = std::get_if<pi::Evaluate>(&task.work)) {
      compute = cost_.evaluation(e->range);
      shape = shapes_.shape(e->range);
    } else if (const auto* m = std::get_if<pi::Merge>(&task.work)) {
      need(m->left, std::nullopt);
      need(m->right, std::nullopt);
      compute = cost_.merge(m->left.range, m->right.range);
      shape = shapes_.shape(range);
    } else if (const auto* p = std::get_if<pi::Product>(&task.work)) {
      need(p->left, p->factor_left);
      need(p->right, p->factor_right);
      const double left_bits = std::abs(static_cast<double>(p->left.shape.at(p->factor_left)));
      const auto right_bits = static_cast<std::uint64_t>(std::abs(p->right.shape.at(p->factor_right)));
      const auto slice = static_cast<double>(pi::slice_bits(right_bits, p->slices));
      compute = cost_.product(left_bits, slice);
      shape = {static_cast<std::int64_t>(left_bits + slice)};
    } else if (const auto* sp = std::get_if<pi::Spread>(&task.work)) {
      // A part reads its share of each input: the factors' column runs, or its rows (columns) of every
      // part of the phase before; its output, the plan's blocks (spread_product.hpp).
      const double share = 1.0 / sp->parts;
      if (sp->phase == 0 && sp->inputs.size() == 2) {
        need(sp->inputs[0], sp->factor_left, share);
        need(sp->inputs[1], sp->factor_right, share);
      } else {
        for (const PieceRef& input : sp->inputs) need(input, std::nullopt, share);
      }
      compute = cost_.spread(*sp);
      const pi::SpreadPlan plan = pi::spread_plan(*sp);
      shape.assign(pi::spread_output_values(plan, sp->phase),
                   static_cast<std::int64_t>(pi::spread_output_value_limbs(plan, sp->phase) * 64));
    } else if (const auto* a = std::get_if<pi::Assemble>(&task.work)) {
      double bits = 0;
      for (const PieceRef& part : a->parts) {
        need(part, std::nullopt);
        bits += pi::shape_bits(part.shape);
      }
      compute = cost_.assembly(bits);
      range = Range{a->left_range.begin, a->right_range.end};
      shape = shapes_.shape(range);
    } else if (const auto* f = std::get_if<pi::FinalSteps>(&task.work)) {
      need(f->root, std::nullopt);
      // Without the constant from another worker, the worker computes it too (on a single-core host, in
      // the same line as the division).
      if (f->constant) need(*f->constant, std::nullopt);
      compute = cost_.final_steps(static_cast<double>(f->bits)) +
                (f->constant ? 0.0 : cost_.constant(static_cast<double>(f->bits)));
      // With the split of the decimals (FinalSteps::split_parts), its products follow the division's.
      const CostModel::Split* split = f->split_parts >= 2 ? cost_.split(f->split_parts) : nullptr;
      if (f->split_parts >= 2 && !split)
        throw std::logic_error("the final steps split into parts the calibration did not time");
      if (split) compute += split->products_s + split->between_s;
      if (f->spread_bits > 0 && !cost_.final_products().empty()) {
        // Its products one after the other (chain_step), the large ones spread over the other workers.
        compute = cost_.final_between() + (f->constant ? 0.0 : cost_.constant(static_cast<double>(f->bits))) +
                  (split ? split->between_s : 0.0);
        chain.emplace(FinalChain{w,
                                 f->spread_bits,
                                 f->root.range,
                                 split ? &split->final_and_split : &cost_.final_products(),
                                 0,
                                 0,
                                 {}});
      }
      shape = split ? split->shape : Shape{static_cast<std::int64_t>(f->bits)};
      auto s = std::make_shared<pi::FinalSummary>();
      s->scale_bits = f->bits;
      s->convertible = true;
      if (split) s->parts = split->parts;
      summary = s;
      range = Range{};
      if (root_at_ == 0) root_at_ = now_;
    } else if (const auto* c = std::get_if<pi::Constant>(&task.work)) {
      compute = cost_.constant(static_cast<double>(c->bits));
      if (c->spread_bits > 0 && !cost_.constant_products().empty()) {
        compute = cost_.constant_between();
        chain.emplace(FinalChain{w, c->spread_bits, Range{}, &cost_.constant_products(), 0, 0, {}});
      }
      shape = {static_cast<std::int64_t>(c->bits), 64};
      range = Range{};
    } else if (const auto* d = std::get_if<pi::Digits>(&task.work)) {
      // A part's block reads its value only, and multiplies nothing of the fraction's size.
      need(d->fraction, d->part ? std::optional<std::uint32_t>(d->value) : std::nullopt);
      compute = cost_.digits(d->part ? 0 : d->first, d->count, pi::shape_bits(d->fraction.shape));
      digits.assign(d->count, '0');  // the length the scheduler checks; nothing reads the text
    }
    if (unreachable) {
      // As a real worker: the fetch gives up at its deadline (0.4 of the task's), and rank 0 hears why.
      const double gives_up = now_ + 0.4 * task.allowed_s;
      at(gives_up, [this, w, id = task.id, owner = unreachable->owner, key = unreachable->key] {
        if (dead_[static_cast<std::size_t>(w)]) return;
        const double arrives = transfer(w + 1, 0, kMessageBytes, now_);
        at(arrives, [this, w, id, owner, key] {
          on_rank0([this, w, id, owner, key] {
            current_->unreachable(w, id, owner, key, true);
            came_back(w);
          });
        });
        start(w);
      });
      return;
    }
    if (const auto* d = std::get_if<pi::Digits>(&task.work); d && task.keep) {
      // As a real worker: once the fraction is here it keeps it, and tells rank 0, which may send later
      // blocks to read it here (Scheduler::fetched; in the star, rank 0 serves them all anyway).
      at(ready, [this, w, id = task.id, bytes = bytes_of(d->fraction)] {
        if (dead_[static_cast<std::size_t>(w)]) return;
        if (plane_ == Plane::direct) hold(w + 1, id, bytes);
        const double arrives = transfer(w + 1, 0, kMessageBytes, now_);
        at(arrives, [this, w, id] {
          on_rank0([this, w, id] {
            current_->fetched(w, id);
            dispatch();
          });
        });
      });
    }
    const double result_bytes = pi::shape_bits(shape) / 8;
    const double working = operands + result_bytes;
    const std::size_t host = static_cast<std::size_t>(w) + 1;
    peak_[host] = std::max(peak_[host], held_[host] + working);
    const double end = ready + compute;
    busy_[static_cast<std::size_t>(w)] += compute;
    const std::uint64_t task_id = task.id;
    auto done = [this, w, task = std::move(task), compute, shape = std::move(shape), range, summary,
                 digits = std::move(digits), result_bytes]() mutable {
      if (dead_[static_cast<std::size_t>(w)]) return;  // lost with its worker
      TaskOutput out;
      out.result.range = range;
      const bool keeps = task.keep || task.kind() == TaskKind::final_steps ||
                         task.kind() == TaskKind::product || task.kind() == TaskKind::spread;
      if (task.kind() != TaskKind::digits && (!keeps || pi::shape_bits(shape) < pi::kKeepAtLeastBits)) {
        // A small piece travels to rank 0 with its integers, and rank 0 merges such pieces itself (in
        // real time, here): integers of the piece's sizes and signs.
        for (const std::int64_t bits : shape) {
          out.result.values.push_back(
              bits == 0 ? BigInt(0) : random_bits(rng_, static_cast<std::uint64_t>(std::abs(bits))));
          if (bits < 0) out.result.values.back() = -out.result.values.back();
        }
      } else if (task.kind() != TaskKind::digits) {
        out.kept = true;
        out.shape = std::move(shape);
        out.summary = summary;
        hold(plane_ == Plane::star ? 0 : w + 1, task.id, result_bytes);
      } else if (task.keep) {
        // The block's worker keeps the fraction it read, for later blocks (Scheduler::fraction_source).
        out.kept = true;  // held since its fetch (above)
        out.shape = task.as<pi::Digits>().fraction.shape;
      }
      out.digits = std::move(digits);
      if (task.kind() == TaskKind::evaluate) evaluations_end_ = std::max(evaluations_end_, now_);
      if ((task.kind() == TaskKind::merge || task.kind() == TaskKind::assemble) && task.first_range == 0 &&
          task.end_range == grid_.size())
        root_made_ = now_;
      // The result's metadata to rank 0 (in the star, the piece itself).
      const double arrives = transfer(
          w + 1, 0,
          (plane_ == Plane::star && out.kept) || !out.result.values.empty() ? result_bytes : kMessageBytes,
          now_);
      at(arrives, [this, w, id = task.id, out = std::move(out), compute]() mutable {
        on_rank0([this, w, id, out = std::move(out), compute]() mutable {
          scheduler_complete(w, id, std::move(out), compute);
        });
      });
      start(w);
    };
    if (chain) {
      chain->finish = std::move(done);
      chains_[task_id] = std::move(*chain);
      chain_step(task_id, end);
    } else {
      at(end, std::move(done));
    }
  }

  // The products of task `id` (the final steps or their constant), in order from its chain's next: those
  // under its spread_bits on the worker itself, then the next large one asked of rank 0
  // (Scheduler::product_wanted); once all are done, the task ends.
  void chain_step(std::uint64_t id, double t) {
    FinalChain& c = chains_.at(id);
    while (c.next < c.steps->size()) {
      const CostModel::FinalProduct& s = (*c.steps)[c.next];
      if (std::min(s.a_bits, s.b_bits) >= static_cast<double>(c.spread_bits)) {
        const std::uint32_t n = c.asked++;
        at(transfer(c.w + 1, 0, kMessageBytes, t), [this, id, n, s] {
          on_rank0([this, id, n, s] {
            const auto it = chains_.find(id);
            if (it == chains_.end()) return;
            const auto factor = [&](double bits, std::uint64_t side) {
              PieceRef p;
              p.range = it->second.range;
              p.owner = it->second.w;
              p.key = (std::uint64_t{1} << 63) | (id << 24) | (std::uint64_t{n} << 1) | side;
              p.shape = {static_cast<std::int64_t>(bits)};
              return p;
            };
            current_->product_wanted(it->second.w, id, n, factor(s.a_bits, 0), factor(s.b_bits, 1), false);
            deliver_products();
            dispatch();
          });
        });
        return;
      }
      t += s.seconds;
      busy_[static_cast<std::size_t>(c.w)] += s.seconds;
      ++c.next;
    }
    at(t, std::move(c.finish));
    chains_.erase(id);
  }
  // Products made for the final steps or their constant: their worker fetches the runs, puts the product
  // together, and goes on with its steps.
  void deliver_products() {
    for (const Scheduler::ProductDone& d : current_->take_products_done()) {
      const auto chain = chains_.find(d.task);
      if (chain == chains_.end() || d.refused || d.worker != chain->second.w) continue;
      const double told = transfer(0, d.worker + 1, kMessageBytes, std::max(now_, rank0_free_));
      double ready = told, bits = 0;
      for (const PieceRef& run : d.runs) {
        ready = std::max(ready, transfer(source_of(run), d.worker + 1, bytes_of(run), told + net_.latency_s));
        bits += pi::shape_bits(run.shape);
      }
      const double assembly = cost_.assembly(bits);
      busy_[static_cast<std::size_t>(d.worker)] += assembly;
      at(ready + assembly, [this, id = d.task] {
        const auto it = chains_.find(id);
        if (it == chains_.end()) return;
        ++it->second.next;
        chain_step(id, now_);
      });
    }
  }
  void hold(int host, std::uint64_t key, double bytes) {
    held_[static_cast<std::size_t>(host)] += bytes;
    peak_[static_cast<std::size_t>(host)] =
        std::max(peak_[static_cast<std::size_t>(host)], held_[static_cast<std::size_t>(host)]);
    pieces_[key] = {host, bytes};
  }
  void scheduler_complete(int w, std::uint64_t id, TaskOutput out, double compute) {
    Scheduler& scheduler = *current_;
    scheduler.complete(w, id, std::move(out), compute);
    (void)scheduler.take_finished_blocks();
    deliver_products();
    came_back(w);
  }
  // Worker w answered (a result, a failure): it is idle, or busy with what it holds; then work goes out.
  void came_back(int w) {
    Scheduler& scheduler = *current_;
    for (const auto& [owner, key] : scheduler.take_drops()) {
      const auto it = pieces_.find(key);
      if (it == pieces_.end()) continue;
      held_[static_cast<std::size_t>(it->second.first)] -= it->second.second;
      pieces_.erase(it);
    }
    if (scheduler.held(w) == 0) {
      idle_.push_back(w);
    } else {
      topping_up_.push_back(w);
    }
    dispatch();
  }
  // The worker holding the most piece bytes dies (a node lost): its pieces, its task and what it holds
  // queued go with it. Rank 0 looks at the deadlines every second, and takes it for lost once silent for
  // 30 s (kSilentSeconds), as MpiExecutor does; the others' fetches from it give up at their deadline.
  void lose_biggest() {
    int w = 0;
    for (int v = 1; v < workers_; ++v)
      if (held_[static_cast<std::size_t>(v) + 1] > held_[static_cast<std::size_t>(w) + 1]) w = v;
    lost_ = w;
    lost_bytes_ = held_[static_cast<std::size_t>(w) + 1];
    dead_[static_cast<std::size_t>(w)] = true;
    queues_[static_cast<std::size_t>(w)].clear();
    std::erase(idle_, w);
    std::erase(topping_up_, w);
    at(now_ + kSilentSeconds, [this, w] {
      on_rank0([this, w] {
        current_->silent(w);
        dispatch();
      });
    });
    look_at_deadlines();
  }
  void look_at_deadlines() {
    on_rank0([this] {
      (void)current_->expire(clock());
      dispatch();
    });
    if (!current_->finished()) at(now_ + 1, [this] { look_at_deadlines(); });
  }

  const pi::Series& series_;
  const pi::Grid& grid_;
  const ChudnovskyShapes& shapes_;
  const CostModel& cost_;
  Network net_;
  Plane plane_;
  int workers_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::uint64_t seq_ = 0;
  double now_ = 0;
  double rank0_free_ = 0;
  double rank0_busy_ = 0;
  std::vector<double> out_free_, in_free_;
  std::vector<std::deque<Task>> queues_;
  std::vector<bool> running_;
  std::vector<int> idle_;
  std::deque<int> topping_up_;
  std::vector<double> held_, peak_, busy_;
  std::map<std::uint64_t, std::pair<int, double>> pieces_;  // key -> (host, bytes)
  double bytes_moved_ = 0, bytes_rank0_ = 0;
  double evaluations_end_ = 0, root_at_ = 0;
  double root_made_ = 0;  // when the series' result (the root merge, or its assembly) was done
  std::uint64_t tasks_ = 0;
  Scheduler* current_ = nullptr;  // run()'s
  std::vector<bool> dead_;
  // The final steps and constants under way whose products are spread (FinalSteps::spread_bits,
  // Constant::spread_bits), by task id: their worker, terms, products (CostModel::final_products or
  // constant_products), the next of them, the products asked for so far; the task's end.
  struct FinalChain {
    int w = 0;
    std::uint64_t spread_bits = 0;
    Range range;
    const std::vector<CostModel::FinalProduct>* steps = nullptr;
    std::size_t next = 0;
    std::uint32_t asked = 0;
    std::function<void()> finish;
  };
  std::map<std::uint64_t, FinalChain> chains_;

 public:
  bool verbose_ = false;
  // >= 0: each of rank 0's calls costs this many simulated seconds instead of the real time it took here,
  // so that comparisons between runs do not move with this machine's load (check_simulate.sh).
  double rank0_call_s_ = -1;

 private:
  pi::SchedulerConfig config_;
  double lose_at_ = -1;
  int lost_ = -1;
  double lost_bytes_ = 0;
  std::mt19937_64 rng_{2};
};

}  // namespace

namespace {

int run(int argc, char** argv) {
  CLI::App app{"Strong scaling of pi-job's fast series on a simulated cluster (bench/simulate.sh)"};
  std::uint64_t digits = 100000000;
  std::vector<int> hosts{4, 16, 64, 256};
  std::vector<std::string> planes{"direct", "star"};
  double gbps = 25, latency_us = 2;
  std::uint64_t calibration_digits = 1000000;
  std::string json_path;
  int rounds = 5;
  double lose_at = -1;
  bool verbose = false;
  double rank0_call_s = -1;
  std::vector<std::uint64_t> recompute_parts{0};
  std::vector<int> constant_apart{1};
  std::vector<int> spread{0};
  std::vector<std::uint32_t> conversion_parts{pi::SchedulerConfig{}.conversion_parts};
  std::vector<int> constant_spread_from{pi::SchedulerConfig{}.constant_spread_from_workers};
  app.add_option("--digits", digits, "Decimal digits of the simulated job")
      ->check(CLI::Range(100000, 1000000000));
  app.add_option("--hosts", hosts, "Host counts (rank 0 and the workers), comma separated")
      ->delimiter(',')
      ->check(CLI::Range(2, 4096));
  app.add_option("--plane", planes, "direct (pieces on workers), star (through rank 0)")
      ->delimiter(',')
      ->check(CLI::IsMember({"direct", "star"}));
  app.add_option("--gbps", gbps, "Link bandwidth, Gb/s")->check(CLI::Range(0.01, 10000.0));
  app.add_option("--latency-us", latency_us, "Link latency, microseconds")->check(CLI::Range(0.0, 1e6));
  app.add_option("--calibration-digits", calibration_digits, "Size of the real runs the model is fitted to")
      ->check(CLI::Range(100000, 20000000));
  app.add_option("--rounds", rounds, "Rounds of the calibration's timings (the least of each is kept)")
      ->check(CLI::Range(1, 50));
  app.add_option("--lose-at", lose_at,
                 "Simulated second at which the worker holding the most piece bytes dies (pieces on the "
                 "workers only; not on 2 hosts, the efficiency's baseline)")
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--recompute-parts", recompute_parts,
                 "A lost piece is computed again as at most this many evaluations (0: twice the workers; 1: "
                 "one evaluation of its range, as before); several, comma separated, run each")
      ->delimiter(',')
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--constant-apart", constant_apart,
                 "1: the final steps' constant is a task of its own, on a worker that would idle; 0: the "
                 "final steps' worker computes it (before 2026-12-04); both, comma separated, run each")
      ->delimiter(',')
      ->check(CLI::Range(0, 1));
  app.add_option(
         "--constant-spread-from", constant_spread_from,
         "With spread products, the constant's square root spreads its products from this many "
         "workers (SchedulerConfig::constant_spread_from_workers); several, comma separated, run each")
      ->delimiter(',')
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--spread", spread,
                 "1: the products of the merges cut into products are spread products (SchedulerConfig::"
                 "spread_parts), in as many parts as workers (a power of two, at most 64); 0: whole products "
                 "(pi-job today); both, comma separated, run each")
      ->delimiter(',')
      ->check(CLI::Range(0, 1));
  app.add_option("--conversion-parts", conversion_parts,
                 "With spread products, the final steps split the decimals into up to this many parts "
                 "(SchedulerConfig::conversion_parts; 0: every block reads the whole fraction, before "
                 "2026-12-06); several, comma separated, run each")
      ->delimiter(',')
      ->check(CLI::Range(0, 1024));
  app.add_option("--rank0-call-seconds", rank0_call_s,
                 "Charge each of rank 0's scheduler calls this many simulated seconds instead of the time it "
                 "took here (comparisons that must not move with this machine's load)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_flag("--verbose", verbose, "The scheduler's notices (retries, losses), with their simulated times");
  app.add_option("--json", json_path, "Also write one JSON object per run to this file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "bench_simulate: " << e.what() << "\n";
    return 2;
  }
  if (lose_at >= 0 && std::find(planes.begin(), planes.end(), "star") != planes.end()) {
    std::cerr << "bench_simulate: --lose-at needs --plane direct (in the star rank 0 holds the pieces)\n";
    return 2;
  }
  try {
    const auto series = pi::make_series("chudnovsky");
    const std::uint64_t terms = pi::plan_terms(*series, digits);
    const pi::Grid grid(*series, terms);
    const ChudnovskyShapes shapes(terms);
    CostModel cost(*series, grid, shapes, calibration_digits, rounds, std::cout);
    // With spread products and 4 workers or more, the final steps' large products are spread too: their
    // sizes and times at the job's precision.
    if (std::find(spread.begin(), spread.end(), 1) != spread.end() &&
        std::any_of(hosts.begin(), hosts.end(), [](int h) { return h >= 5; }))
      cost.time_final_products(pi::bits_for_digits(digits + 20) + 64, std::cout);
    // The splits the final steps will make (Scheduler::conversion_parts_for; only where they spread their
    // products: kSpreadFromWorkers workers or more), once each.
    if (std::find(spread.begin(), spread.end(), 1) != spread.end()) {
      for (const int h : hosts) {
        if (h - 1 < Scheduler::kSpreadFromWorkers) continue;
        for (const std::uint32_t most : conversion_parts) {
          const std::uint64_t parts = Scheduler::conversion_parts_for(
              digits + pi::kGuardDecimals, static_cast<std::uint64_t>(h - 1), most);
          if (parts >= 2)
            cost.time_split(pi::bits_for_digits(digits + 20) + 64, digits + pi::kGuardDecimals, parts,
                            std::cout);
        }
      }
    }
    std::cout << "chudnovsky " << digits << " digits: " << terms << " terms in " << grid.size()
              << " grid ranges; links " << gbps << " Gb/s, " << latency_us << " us\n";
    std::ofstream json;
    if (!json_path.empty()) json.open(json_path);
    std::map<std::string, double> one_worker;
    std::printf("%6s %7s %10s %9s %9s %9s %9s %9s %6s %10s %9s %10s %10s\n", "hosts", "plane", "seconds",
                "evals", "made", "root", "final", "convert", "eff", "moved GB", "rank0 %", "rank0 MB",
                "worker MB");
    // One variant of the scheduler's settings on every host count, one worker first (the efficiency's
    // baseline).
    const auto run_variant = [&](int spread_on, int apart, int constant_from, std::uint64_t parts,
                                 std::uint32_t split_most, const std::string& plane_name) {
      if (conversion_parts.size() > 1) std::printf("conversion parts: at most %u\n", split_most);
      if (constant_apart.size() > 1) std::printf("constant apart: %s\n", apart ? "yes" : "no");
      if (spread.size() > 1) std::printf("spread products: %s\n", spread_on ? "yes" : "no");
      if (constant_spread_from.size() > 1)
        std::printf("the constant's products spread from %d workers\n", constant_from);
      const Plane plane = plane_name == "direct" ? Plane::direct : Plane::star;
      std::vector<int> counts{2};
      for (int h : hosts)
        if (h != 2) counts.push_back(h);
      for (int h : counts) {
        pi::SchedulerConfig config;
        config.recompute_parts = parts;
        config.constant_apart = apart != 0;
        config.constant_spread_from_workers = constant_from;
        config.conversion_parts = split_most;
        if (spread_on != 0 && h - 1 >= 2)
          config.spread_parts =
              std::min<std::uint32_t>(64, std::bit_floor(static_cast<std::uint32_t>(h - 1)));
        Simulation sim(*series, grid, shapes, cost, Network{gbps * 1e9 / 8, latency_us * 1e-6}, plane, h - 1,
                       config, h == 2 ? -1 : lose_at);
        sim.verbose_ = verbose;
        sim.rank0_call_s_ = rank0_call_s;
        nlohmann::json r = sim.run(digits);
        const double seconds = r["seconds"];
        if (h == 2) one_worker[plane_name] = seconds;
        const double efficiency = one_worker[plane_name] / ((h - 1) * seconds);
        r["efficiency"] = efficiency;
        const double moved = r["bytes_moved"];
        const double rank0 = r["bytes_through_rank0"];
        std::printf("%6d %7s %10.2f %9.2f %9.2f %9.2f %9.2f %9.2f %6.3f %10.2f %9.1f %10.0f %10.0f\n", h,
                    plane_name.c_str(), seconds, r["evaluations_end_s"].get<double>(),
                    r["root_made_s"].get<double>(), r["root_s"].get<double>(),
                    r["final_steps_end_s"].get<double>(), r["conversion_s"].get<double>(), efficiency,
                    moved / 1e9, moved > 0 ? 100 * rank0 / moved : 0.0,
                    r["rank0_peak_bytes"].get<double>() / 1e6, r["worker_peak_bytes"].get<double>() / 1e6);
        if (r["lost_worker_rank"].get<int>() > 0) {
          std::printf(
              "       rank %d lost at %g s with %.0f MB of pieces; a lost piece computed again as %s\n",
              r["lost_worker_rank"].get<int>(), lose_at, r["lost_bytes"].get<double>() / 1e6,
              parts == 0   ? "evaluations for twice the workers"
              : parts == 1 ? "one evaluation"
                           : (std::to_string(parts) + " evaluations at most").c_str());
        }
        std::fflush(stdout);
        if (json.is_open()) json << r.dump() << "\n";
      }
    };
    for (const int spread_on : spread)
      for (const int apart : constant_apart)
        for (const int constant_from : constant_spread_from)
          for (const std::uint64_t parts : recompute_parts)
            for (const std::uint32_t split_most : conversion_parts)
              for (const std::string& plane_name : planes)
                run_variant(spread_on, apart, constant_from, parts, split_most, plane_name);
  } catch (const std::exception& e) {
    std::cerr << "bench_simulate: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (...) {
    std::cerr << "bench_simulate: failed\n";
    return 1;
  }
}
