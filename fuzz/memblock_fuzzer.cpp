// The differential fuzz targets: bytes are decoded into ops (core/decode.hpp)
// and checked by the DifferentialExecutor after every op.
// - memblock_<variant>_fuzzer (MBFUZZ_FUZZ_VARIANT): memblock's calls on the
//   production memblock of that variant against the specification.
// - bootmem_fuzzer (also MBFUZZ_FUZZ_BOOTMEM): bootmem's calls, run three
//   ways: the production bootmem against its model, and memblock of the
//   variant answering the same calls as nobootmem did against memblock's
//   model (docs/allocators.md).
// A divergence that is not on the known list prints the finding, its
// signature line last, and aborts; a known divergence or an inconclusive run
// (an op outside the specification, a simulation limit) is not a finding.
#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#include "core/decode.hpp"
#include "core/variant.hpp"
#include "oracle/executor.hpp"
#include "oracle/report.hpp"

#ifndef MBFUZZ_FUZZ_VARIANT
#error "MBFUZZ_FUZZ_VARIANT names the variant this target fuzzes"
#endif

namespace {

#ifdef MBFUZZ_FUZZ_BOOTMEM
constexpr mbfuzz::Vocabulary vocabulary = mbfuzz::Vocabulary::bootmem;
constexpr std::string_view target = "bootmem";  // what signatures name
#else
constexpr mbfuzz::Vocabulary vocabulary = mbfuzz::Vocabulary::memblock;
constexpr std::string_view target = MBFUZZ_FUZZ_VARIANT;
#endif

mbfuzz::oracle::DifferentialExecutor& executor() {
  static mbfuzz::oracle::DifferentialExecutor instance(*mbfuzz::find_variant(MBFUZZ_FUZZ_VARIANT));
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using mbfuzz::oracle::CheckResult;
  const std::vector<mbfuzz::Op> ops = mbfuzz::decode_ops(std::span(data, size), vocabulary);
  const CheckResult result = executor().check(ops);
  if (result.verdict == CheckResult::Verdict::diverged) {
    fmt::print(stderr, "{}", mbfuzz::oracle::render_finding(target, ops, *result.divergence));
    std::fflush(stderr);
    std::abort();
  }
  return 0;
}
