# Warnings and code-generation options as INTERFACE targets, linked PRIVATE into every target.
add_library(pi_warnings INTERFACE)
target_compile_options(pi_warnings INTERFACE -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion
                                             -Wnon-virtual-dtor -Wold-style-cast -Wpedantic)

add_library(pi_options INTERFACE)
# No FMA contraction: every published digit must be identical whatever the CPU's vector width.
target_compile_options(pi_options INTERFACE -ffp-contract=off -fno-math-errno)
if(PI_NATIVE)
  target_compile_options(pi_options INTERFACE -march=native)
endif()
if(PI_SANITIZE)
  # vptr is left out: Boost 1.74's constexpr error categories fail its check (a false positive, seen when an
  # accept fails with EMFILE: "member call on address ... which does not point to an object of type
  # 'error_category'").
  target_compile_options(pi_options INTERFACE -fsanitize=address,undefined -fno-sanitize=vptr
                                              -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(pi_options INTERFACE -fsanitize=address,undefined)
endif()
