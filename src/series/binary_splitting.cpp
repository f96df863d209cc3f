#include "series/binary_splitting.hpp"

namespace pi {

SplitTriple merged(TripleRef left, TripleRef right, bool need_p) {
  // T = T_l Q_r + P_l T_r; Q = Q_l Q_r; P = P_l P_r.
  SplitTriple out;
  {
    BigInt tmp;
    multiply(tmp, left.p, right.t);
    multiply(out.t, left.t, right.q);
    mpz_add(raw(out.t), raw(out.t), raw(tmp));
  }
  multiply(out.q, left.q, right.q);
  if (need_p) multiply(out.p, left.p, right.p);
  return out;
}

SplitTriple merged_releasing(TripleRef left, TripleRef right, bool need_p, const ReadForTheLastTime& read) {
  SplitTriple out;
  BigInt tmp;
  multiply(tmp, left.p, right.t);
  read(Side::right, Part::t);
  if (need_p) multiply(out.p, left.p, right.p);
  read(Side::left, Part::p);
  read(Side::right, Part::p);
  multiply(out.t, left.t, right.q);
  read(Side::left, Part::t);
  mpz_add(raw(out.t), raw(out.t), raw(tmp));
  tmp = BigInt();
  multiply(out.q, left.q, right.q);
  read(Side::left, Part::q);
  read(Side::right, Part::q);
  return out;
}

void merge_into(SplitTriple& left, const SplitTriple& right, bool need_p) {
  left = merged({left.p, left.q, left.t}, {right.p, right.q, right.t}, need_p);
}

}  // namespace pi
