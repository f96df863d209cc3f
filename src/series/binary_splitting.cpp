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

SplitTriple merged(const BigInt* left, const BigInt* right, bool need_p) {
  const BigInt& lp = left[0];
  const BigInt& lq = left[1];
  const BigInt& lt = left[2];
  const BigInt& rp = right[0];
  const BigInt& rq = right[1];
  const BigInt& rt = right[2];
  SplitTriple out;
  {
    BigInt tmp;
    mpz_mul(raw(tmp), raw(lp), raw(rt));
    mpz_mul(raw(out.t), raw(lt), raw(rq));
    mpz_add(raw(out.t), raw(out.t), raw(tmp));
  }
  mpz_mul(raw(out.q), raw(lq), raw(rq));
  if (need_p) mpz_mul(raw(out.p), raw(lp), raw(rp));
  return out;
}

}  // namespace pi
