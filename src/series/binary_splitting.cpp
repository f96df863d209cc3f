#include "series/binary_splitting.hpp"

namespace pi {

SplitTriple merged(TripleRef left, TripleRef right, bool need_p, const ReadForTheLastTime& read) {
  // T = T_l Q_r + P_l T_r; Q = Q_l Q_r; P = P_l P_r.
  const auto last_read = [&read](Side side, Part part) {
    if (read) read(side, part);
  };
  SplitTriple out;
  {
    BigInt tmp;
    multiply(tmp, left.p, right.t);
    last_read(Side::right, Part::t);
    if (need_p) multiply(out.p, left.p, right.p);
    last_read(Side::left, Part::p);
    last_read(Side::right, Part::p);
    multiply(out.t, left.t, right.q);
    last_read(Side::left, Part::t);
    mpz_add(raw(out.t), raw(out.t), raw(tmp));
  }
  multiply(out.q, left.q, right.q);
  last_read(Side::left, Part::q);
  last_read(Side::right, Part::q);
  return out;
}

void merge_into(SplitTriple& left, const SplitTriple& right, bool need_p) {
  left = merged({left.p, left.q, left.t}, {right.p, right.q, right.t}, need_p);
}

}  // namespace pi
