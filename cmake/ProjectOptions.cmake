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
  target_compile_options(pi_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                              -fno-sanitize-recover=undefined)
  target_link_options(pi_options INTERFACE -fsanitize=address,undefined)
endif()
