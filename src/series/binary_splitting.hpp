// Binary splitting for hypergeometric-type sums S = sum_k a(k) prod_{j=1..k} p(j)/q(j): a range [a, b) of
// terms becomes the integer triple (P, Q, T) and adjacent triples merge exactly, so the merge is associative.
#pragma once

#include <cstdint>
#include <functional>

#include "series/bigint.hpp"

namespace pi {

struct SplitTriple {
  BigInt p;  // prod p(j); zero when the triple ends the job and nobody needs it
  BigInt q;  // prod q(j)
  BigInt t;  // sum_k a(k) p(a..k) q(k+1..b-1)
};

// A triple read where it is (a SplitTriple, or three values of a partial result).
struct TripleRef {
  const BigInt& p;
  const BigInt& q;
  const BigInt& t;
};

// Says that an operand's integer has been read for the last time by a merge, so that its holder may free
// it (it is not read again). Part's values are the integers' places in a partial result's triple.
enum class Side { left, right };
enum class Part { p = 0, q = 1, t = 2 };
using ReadForTheLastTime = std::function<void(Side, Part)>;

// The merge of adjacent ranges (left, right) into fresh integers: no copy of either operand, and no product
// into one of its own factors, which would hold the old and the new value at once. `need_p` false skips P,
// which only a left operand needs (P is then zero). The products go P_l T_r, P_l P_r, T_l Q_r, Q_l Q_r, and
// `read` (when given) hears of each integer after its last one: a merge whose operands are freed then holds
// two products besides what is left of its operands, never all its operands and two products.
SplitTriple merged(TripleRef left, TripleRef right, bool need_p, const ReadForTheLastTime& read = {});

// (left, right) -> left, the same merge.
void merge_into(SplitTriple& left, const SplitTriple& right, bool need_p);

// A term family: fills p(k), q(k) and a(k)*p(k) for one k >= 0 (with p(0) = q(0) = 1).
template <class Terms>
void split(const Terms& terms, std::uint64_t a, std::uint64_t b, bool need_p, SplitTriple& out) {
  if (b - a == 1) {
    terms.leaf(a, out);
    return;
  }
  const std::uint64_t m = a + (b - a) / 2;
  SplitTriple right;
  split(terms, a, m, true, out);
  split(terms, m, b, need_p, right);
  merge_into(out, right, need_p);
}

}  // namespace pi
