// The slow series of the original service (Leibniz, Euler/Basel) and Nilakantha: compensated double sums per
// range, exact fixed-point reduction, and rigorous enclosures of what the omitted tail can be.
#pragma once

#include <memory>

#include "series/series.hpp"

namespace pi {

std::unique_ptr<Series> make_leibniz();
std::unique_ptr<Series> make_basel();
std::unique_ptr<Series> make_nilakantha();

}  // namespace pi
