// The bootmem allocator agrees with its specification, and memblock,
// answering the same calls as nobootmem did, with memblock's, on thousands
// of random sequences, apart from listed known divergences.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "core/tests/random_bootmem_ops.hpp"
#include "core/trace.hpp"
#include "core/variant.hpp"
#include "oracle/executor.hpp"

namespace mbfuzz::oracle {
namespace {

// MBFUZZ_SEQUENCES scales the run (default 2000).
int sequence_count() {
  const char* n = std::getenv("MBFUZZ_SEQUENCES");
  return n ? std::atoi(n) : 2000;
}

TEST(BootmemDifferential, random_sequences_agree_with_the_specification_three_ways) {
  DifferentialExecutor executor(default_variant());
  std::map<std::string, int> verdicts;
  std::size_t ops_checked = 0;
  for (int seed = 0; seed < sequence_count(); ++seed) {
    std::vector<Op> ops = testing::RandomBootmemOps(static_cast<std::uint64_t>(seed)).sequence(60);
    const CheckResult result = executor.check(ops);
    ops_checked += result.ops_checked;
    switch (result.verdict) {
      case CheckResult::Verdict::agree: ++verdicts["agree"]; break;
      case CheckResult::Verdict::known: ++verdicts["known: " + result.known_id]; break;
      case CheckResult::Verdict::inconclusive: ++verdicts["inconclusive: " + result.reason.substr(0, 60)]; break;
      case CheckResult::Verdict::diverged: {
        const Divergence& d = *result.divergence;
        ops.resize(d.op_index + 1);
        FAIL() << "seed " << seed << ": op " << d.op_index << " " << format_op(d.op) << ": " << d.signature()
               << "\nexpected: " << d.expected.substr(0, 400) << "\nactual:   " << d.actual.substr(0, 400)
               << "\ntrace:\n" << format_trace(ops);
      }
    }
  }
  for (const auto& [verdict, count] : verdicts) std::printf("  %5d %s\n", count, verdict.c_str());
  std::printf("  %zu bootmem ops checked\n", ops_checked);
  EXPECT_GE(verdicts["agree"], sequence_count() / 2) << "most sequences must be checked to the end";
  // Nothing but bootmem's two known divergences is excused, and no run is
  // left unjudged: the generator keeps to the specification.
  for (const auto& [verdict, count] : verdicts)
    EXPECT_TRUE(verdict == "agree" || verdict == "known: bootmem-free-all-skips-node-tail" ||
                verdict == "known: bootmem-range-below-node-wraps")
        << verdict << " (" << count << " sequences)";
}

}  // namespace
}  // namespace mbfuzz::oracle
