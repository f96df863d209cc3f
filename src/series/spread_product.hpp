// A product of two big integers whose work splits into parts that need no process to hold the whole
// transform: a Schönhage-Strassen product (FLINT's arithmetic modulo 2^N + 1) laid out as a matrix, the
// four-step ("matrix Fourier") order. So that the top merges, the final division and the conversion's first
// products of a big job can be shared by many workers (the serial-tail and scale-out issues); this file is
// the arithmetic, with every phase a pure function of its inputs, and multiply_spread() runs the phases one
// after the other in this process.
//
// The operands are cut into pieces of m bits (m a multiple of 64): coefficient n of a is bits [m n, m (n+1))
// of |a|. The transform has L = R C points, coefficients modulo 2^N + 1 (N = 64 limbs, N >= 2 m + log2 L + 1,
// so the cyclic convolution of length L is exact), root of unity 2^(2N/L). Point n of the input sits in row
// n / C, column n % C.
//   1. Columns (part j of `parts`: a run of C / parts columns): a length-R transform down each column, of a
//      and of b, then each point twiddled. Its input is one run of limbs of each operand per row
//      (column_runs), 1/parts of each operand.
//   2. Rows (part i: a run of R / parts rows): from every column part, its points in these rows; a
//      length-C transform along each row, the products point by point, the inverse transform along the row,
//      the inverse twiddle.
//   3. Inverse columns (part j): from every row part, its points in these columns; the inverse transform down
//      each column, scaled by 1/L: the product's coefficients at those columns, summed into one integer per
//      row (run).
//   4. Assembly: the runs added at their places give |a b|.
// Each phase's parts run in any order and anywhere; a part reads 1/parts of the phase before's output from
// each of its parts (spread_slice, column_slice). A part's transform points take 2 N / m (about 4) times the
// bits of its share of the operands, so no part holds more than a few times 1/parts of the product.
// Measured (bench_spread, bench/README "A product in parts"): at 415 Mbit a factor, 16 parts add up to
// 1.26-1.52 times the compute of multiply()'s one product, and the longest part of each phase, summed, is
// 0.125-0.170 of it (two runs).
#pragma once

#include <gmp.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <span>
#include <utility>
#include <vector>

#include "series/bigint.hpp"

namespace pi {

// Limbs that are not zeroed when made: every phase writes each limb of its output.
template <class T>
struct LeftUninitialised : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = LeftUninitialised<U>;
  };
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using SpreadLimbs = std::vector<mp_limb_t, LeftUninitialised<mp_limb_t>>;

struct SpreadPlan {
  std::uint64_t a_limbs = 0;  // the operands' sizes (magnitudes), in limbs
  std::uint64_t b_limbs = 0;
  std::uint64_t piece_limbs = 0;  // m / 64
  unsigned log_rows = 0;          // R = 2^log_rows
  unsigned log_cols = 0;          // C = 2^log_cols
  std::uint64_t ring_limbs = 0;   // N / 64: coefficients modulo 2^N + 1, stored in ring_limbs + 1 limbs
  std::uint32_t parts = 1;        // column parts (phases 1 and 3) and row parts (phase 2)

  std::uint64_t rows() const { return std::uint64_t{1} << log_rows; }
  std::uint64_t cols() const { return std::uint64_t{1} << log_cols; }
  std::uint64_t length() const { return rows() * cols(); }
  std::uint64_t width() const { return ring_limbs + 1; }                  // limbs a stored coefficient takes
  std::uint64_t ring_bits() const { return ring_limbs * GMP_NUMB_BITS; }  // N
  // The columns of column part j, and the rows of row part i: [first, first + count).
  std::uint64_t first_col(std::uint32_t j) const { return cols() / parts * j; }
  std::uint64_t col_count() const { return cols() / parts; }
  std::uint64_t first_row(std::uint32_t i) const { return rows() / parts * i; }
  std::uint64_t row_count() const { return rows() / parts; }

  // The plan for |a| of a_limbs limbs times |b| of b_limbs, in `parts` parts (a power of two): the transform
  // length of least estimated work whose rows and columns both split into `parts`. Throws
  // std::invalid_argument for an empty operand or parts that are not a power of two.
  static SpreadPlan choose(std::uint64_t a_limbs, std::uint64_t b_limbs, std::uint32_t parts);
};

// A rectangle of transform points, row-major: rows x cols coefficients of plan.width() limbs each.
struct SpreadBlock {
  std::uint64_t rows = 0;
  std::uint64_t cols = 0;
  SpreadLimbs limbs;
};

// Phase 1's input from an operand's owner: for each of the R rows, the limbs of x in column part j's
// columns (zero beyond x's end), R * col_count() * piece_limbs limbs.
SpreadLimbs column_runs(const SpreadPlan& plan, mpz_srcptr x, std::uint32_t j);

// Phase 1: column part j of both operands' transforms, from their column_runs. Two blocks of R x
// col_count() points: a's, then b's.
struct SpreadColumns {
  SpreadBlock a;
  SpreadBlock b;
};
SpreadColumns forward_columns(const SpreadPlan& plan, std::uint32_t j, std::span<const mp_limb_t> a_runs,
                              std::span<const mp_limb_t> b_runs);

// Rows [first_row, first_row + count) of a block (what a part of the next phase fetches from it).
SpreadBlock spread_slice(const SpreadPlan& plan, const SpreadBlock& block, std::uint64_t first_row,
                         std::uint64_t count);

// Phase 2: row part i of the product's transform, inverted along the rows: row_count() x C points, from
// the slices of every column part's blocks in these rows (a_slices[j], b_slices[j]: column part j).
SpreadBlock multiply_rows(const SpreadPlan& plan, std::uint32_t i, std::span<const SpreadBlock> a_slices,
                          std::span<const SpreadBlock> b_slices);

// Phase 3: a column part j of the product, from the slices of every row part's block in these columns
// (row_slices[i]: row part i, column_slice of its block). One run per row: run n1 is the sum of the product's
// coefficients C n1 + first_col(j) + t, each shifted by t pieces, to be added at piece C n1 + first_col(j).
std::vector<BigInt> inverse_columns(const SpreadPlan& plan, std::span<const SpreadBlock> row_slices);

// Columns [first_col(j), + col_count()) of a phase 2 block, for column part j of phase 3.
SpreadBlock column_slice(const SpreadPlan& plan, const SpreadBlock& block, std::uint32_t j);

// Phase 4: |a b| from the runs of every column part (runs[j]: inverse_columns of part j).
void assemble_spread(BigInt& out, const SpreadPlan& plan, std::span<const std::vector<BigInt>> runs);
// The same, the runs read where they are (runs[j] points at part j's).
void assemble_spread(BigInt& out, const SpreadPlan& plan, std::span<const std::vector<BigInt>* const> runs);

// The phases as tasks of a job (Spread in coordinator/task.hpp): each part's output is kept as the values of
// a piece, which the next phase's parts read in part.
//   phase 0 (columns, part j): 2 R values, row n of a's block (col_count() points), then row n of b's;
//   phase 1 (rows, part i): `parts` values, value j the columns of column part j (column_slice);
//   phase 2 (inverse columns, part j): the R runs of inverse_columns.
// The values of a part's output in `phase`, and the limbs each takes at most (a run: col_count() pieces and
// the last coefficient's overhang).
std::uint64_t spread_output_values(const SpreadPlan& plan, std::uint32_t phase);
std::uint64_t spread_output_value_limbs(const SpreadPlan& plan, std::uint32_t phase);
// A block of points as an integer (its limbs; high zero limbs dropped, as GMP keeps integers) and back.
BigInt block_integer(const SpreadBlock& block);
SpreadBlock block_from_integer(const SpreadPlan& plan, const BigInt& limbs, std::uint64_t rows,
                               std::uint64_t cols);
// Phase 0's output of column part j of |a| times |b|.
std::vector<BigInt> spread_columns_part(const SpreadPlan& plan, std::uint32_t j, mpz_srcptr a, mpz_srcptr b);
// What a worker fetches of a factor another holds for phase 0: column_runs(plan, x, j) as an integer (its
// limbs; high zero limbs dropped), 1/parts of x. And phase 0's output from the two factors' runs.
BigInt column_runs_integer(const SpreadPlan& plan, mpz_srcptr x, std::uint32_t j);
std::vector<BigInt> spread_columns_from_runs(const SpreadPlan& plan, std::uint32_t j, const BigInt& a_runs,
                                             const BigInt& b_runs);
// Phase 1's output of row part i, from the outputs of every column part (columns[j]: part j's values).
std::vector<BigInt> spread_rows_part(const SpreadPlan& plan, std::uint32_t i,
                                     std::span<const std::vector<BigInt>* const> columns);
// Phase 2's output of column part j, from the outputs of every row part (rows[i]: part i's values).
std::vector<BigInt> spread_inverse_part(const SpreadPlan& plan, std::uint32_t j,
                                        std::span<const std::vector<BigInt>* const> rows);

// x = x y modulo 2^(64 limbs) + 1 for x and y normalised (mpn_normmod_2expp1: at most 2^N), limbs + 1 limbs
// each; x is normalised after, y is spoilt. FLINT's fft_mulmod_2expp1 from 512 limbs (SpreadPlan::choose
// gives it sizes it multiplies right), GMP's product below. `scratch`: 3 limbs + 3 limbs.
void multiply_mod_fermat(mp_limb_t* x, mp_limb_t* y, std::uint64_t limbs, mp_limb_t* scratch);

// What multiply_spread lets a caller see or do between its steps (benchmarks and tests).
struct SpreadObserver {
  // After each part: its phase (0 columns, 1 rows, 2 inverse columns, 3 assembly), its compute seconds, and
  // the bytes it read that another part (or the operands' owner) made.
  std::function<void(int phase, double seconds, double bytes)> part_done;
  // Tests: may change phase 1's output before phase 2 reads it.
  std::function<void(std::vector<SpreadColumns>&)> after_columns;
};

// out = a * b through the four phases in this process, `parts` parts each (a power of two), one part after
// the other: the same integer as mpz_mul.
void multiply_spread(BigInt& out, const BigInt& a, const BigInt& b, std::uint32_t parts,
                     const SpreadObserver& observe = {});

}  // namespace pi
