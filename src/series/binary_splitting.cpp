#include "series/binary_splitting.hpp"

namespace pi {

void merge_into(SplitTriple& left, const SplitTriple& right, bool need_p) {
  // T = T_l Q_r + P_l T_r; Q = Q_l Q_r; P = P_l P_r.
  mpz_mul(raw(left.t), raw(left.t), raw(right.q));
  BigInt tmp;
  mpz_mul(raw(tmp), raw(left.p), raw(right.t));
  mpz_add(raw(left.t), raw(left.t), raw(tmp));
  mpz_mul(raw(left.q), raw(left.q), raw(right.q));
  if (need_p) {
    mpz_mul(raw(left.p), raw(left.p), raw(right.p));
  } else {
    mpz_set_ui(raw(left.p), 0);
  }
}

}  // namespace pi
