// The fast series, by binary splitting: Chudnovsky (about 14 digits a term), Ramanujan's 1/pi series (about
// 8) and Machin's arctan formula (about 1.4). Partial results are exact integer triples.
#pragma once

#include <memory>

#include "series/series.hpp"

namespace pi {

std::unique_ptr<Series> make_chudnovsky();
std::unique_ptr<Series> make_ramanujan();
std::unique_ptr<Series> make_machin();

}  // namespace pi
