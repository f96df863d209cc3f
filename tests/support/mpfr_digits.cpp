// Prints "3." and the first D decimals of pi from MPFR's AGM (mpfr_const_pi), for the shell tests to
// compare pi.txt against: mpfr_digits D
#include <cstdio>
#include <cstdlib>

#include "reference.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: mpfr_digits DIGITS\n");
    return 2;
  }
  std::puts(pi::test::mpfr_pi_digits(std::strtoull(argv[1], nullptr, 10)).c_str());
  return 0;
}
