// The differential fuzz target of one variant (MBFUZZ_FUZZ_VARIANT): bytes
// are decoded into ops (core/decode.hpp) and run on the production memblock
// and the specification, compared after every op. A divergence that is not
// on the known list prints the finding, its signature line last, and aborts;
// a known divergence or an inconclusive run (an op outside the
// specification, a simulation limit) is not a finding.
#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "core/decode.hpp"
#include "core/variant.hpp"
#include "oracle/executor.hpp"
#include "oracle/report.hpp"

#ifndef MBFUZZ_FUZZ_VARIANT
#error "MBFUZZ_FUZZ_VARIANT names the variant this target fuzzes"
#endif

namespace {

mbfuzz::oracle::DifferentialExecutor& executor() {
  static mbfuzz::oracle::DifferentialExecutor instance(*mbfuzz::find_variant(MBFUZZ_FUZZ_VARIANT));
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using mbfuzz::oracle::CheckResult;
  const std::vector<mbfuzz::Op> ops = mbfuzz::decode_ops(std::span(data, size));
  const CheckResult result = executor().check(ops);
  if (result.verdict == CheckResult::Verdict::diverged) {
    fmt::print(stderr, "{}", mbfuzz::oracle::render_finding(MBFUZZ_FUZZ_VARIANT, ops, *result.divergence));
    std::fflush(stderr);
    std::abort();
  }
  return 0;
}
