// The differential fuzz target of bootmem: bytes are decoded into bootmem's
// calls (core/decode.hpp, the bootmem vocabulary) and run three ways (the
// production bootmem against its model, and memblock answering the same
// calls as nobootmem did against memblock's model; docs/allocators.md). A
// divergence that is not on the known list prints the finding, its signature
// line last, and aborts.
#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "core/decode.hpp"
#include "core/variant.hpp"
#include "oracle/executor.hpp"
#include "oracle/report.hpp"

namespace {

// memblock's side runs on the default variant (NUMA, 64-bit phys_addr_t),
// the build closest to the 64-bit NUMA kernels bootmem ran on.
mbfuzz::oracle::DifferentialExecutor& executor() {
  static mbfuzz::oracle::DifferentialExecutor instance(mbfuzz::default_variant());
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using mbfuzz::oracle::CheckResult;
  const std::vector<mbfuzz::Op> ops = mbfuzz::decode_ops(std::span(data, size), mbfuzz::Vocabulary::bootmem);
  const CheckResult result = executor().check(ops);
  if (result.verdict == CheckResult::Verdict::diverged) {
    fmt::print(stderr, "{}", mbfuzz::oracle::render_finding("bootmem", ops, *result.divergence));
    std::fflush(stderr);
    std::abort();
  }
  return 0;
}
