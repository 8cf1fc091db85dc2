// The C-test reporter: a finding as a test function for the kernel's own
// memblock suite (tools/testing/memblock), so that it can go upstream.
//
// The expected values are the specification's, computed by the model with
// the suite's build facts (Knobs::for_kernel_suite: SMP_CACHE_BYTES is 32
// there), so the test passes on a correct memblock.c and fails on the tree
// the finding came from. The suite maps physical addresses one to one onto
// its own address space; where memblock writes to memory (zeroing
// allocators, a doubled region array), the test maps those pages first.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/op.hpp"
#include "oracle/knobs.hpp"

namespace mbfuzz::oracle {

// The suite's build: `make` (numa false) or `make NUMA=1` (numa true).
Knobs knobs_for_kernel_suite(bool numa);

struct CTest {
  std::string source;  // empty when the ops cannot be expressed in the suite
  std::string error;   // why not
};

// A file holding `static int <name>(void)` and `int <name>_checks(void)`,
// the suite's pattern: the second runs the first under a prefix. `ops` runs
// from a freshly reset memblock; every return value and both region arrays
// after the last op are asserted.
CTest render_c_test(std::string_view name, std::span<const Op> ops, const Knobs& suite, std::string_view comment);

}  // namespace mbfuzz::oracle
