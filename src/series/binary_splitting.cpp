#include "series/binary_splitting.hpp"

namespace pi {

SplitTriple merged(TripleRef left, TripleRef right, bool need_p) {
  // T = T_l Q_r + P_l T_r; Q = Q_l Q_r; P = P_l P_r.
  SplitTriple out;
  {
    BigInt tmp;
    mpz_mul(raw(tmp), raw(left.p), raw(right.t));
    mpz_mul(raw(out.t), raw(left.t), raw(right.q));
    mpz_add(raw(out.t), raw(out.t), raw(tmp));
  }
  mpz_mul(raw(out.q), raw(left.q), raw(right.q));
  if (need_p) mpz_mul(raw(out.p), raw(left.p), raw(right.p));
  return out;
}

void merge_into(SplitTriple& left, const SplitTriple& right, bool need_p) {
  left = merged({left.p, left.q, left.t}, {right.p, right.q, right.t}, need_p);
}

}  // namespace pi
