// The unmodified production memblock agrees with the specification on
// thousands of random sequences per variant, apart from listed known
// divergences.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/render.hpp"
#include "core/tests/memblock_fixture.hpp"
#include "core/tests/random_ops.hpp"
#include "core/trace.hpp"
#include "oracle/executor.hpp"

namespace mbfuzz::oracle {
namespace {

// MBFUZZ_SEQUENCES scales the run (default 2000 per variant).
int sequence_count() {
  const char* n = std::getenv("MBFUZZ_SEQUENCES");
  return n ? std::atoi(n) : 2000;
}

// With MBFUZZ_FINDINGS_DIR set, a divergence's trace is kept there as
// <variant>.trace, for `mbfuzz check` to reproduce.
void keep_finding(const Variant& variant, const std::vector<Op>& ops) {
  const char* dir = std::getenv("MBFUZZ_FINDINGS_DIR");
  if (!dir) return;
  std::filesystem::create_directories(dir);
  std::ofstream(std::filesystem::path(dir) / (std::string(variant.name()) + ".trace")) << format_trace(ops);
}

class Differential : public ::testing::TestWithParam<const Variant*> {};

TEST_P(Differential, random_sequences_agree_with_the_specification) {
  const int sequences = sequence_count();
  DifferentialExecutor executor(*GetParam());
  std::map<std::string, int> verdicts;
  std::size_t ops_checked = 0;
  for (int seed = 0; seed < sequences; ++seed) {
    testing::RandomOps random(static_cast<std::uint64_t>(seed));
    std::vector<Op> ops = random.sequence(100);
    CheckResult result = executor.check(ops);
    ops_checked += result.ops_checked;
    switch (result.verdict) {
      case CheckResult::Verdict::agree: ++verdicts["agree"]; break;
      case CheckResult::Verdict::known: ++verdicts["known: " + result.known_id]; break;
      case CheckResult::Verdict::inconclusive: ++verdicts["inconclusive"]; break;
      case CheckResult::Verdict::diverged: {
        const Divergence& d = *result.divergence;
        ops.resize(d.op_index + 1);
        keep_finding(*GetParam(), ops);
        FAIL() << "seed " << seed << ": op " << d.op_index << " " << format_op(d.op) << ": " << d.check
               << "\nexpected: " << d.expected << "\nactual:   " << d.actual << "\ntrace:\n"
               << format_trace(ops);
      }
    }
  }
  for (const auto& [verdict, count] : verdicts) std::cout << "    " << count << " " << verdict << "\n";
  std::cout << "    " << ops_checked << " ops checked\n";
  // Most sequences must be checked to the end, or the test proves little.
  EXPECT_GT(verdicts["agree"], sequences / 2);
}

MBFUZZ_EVERY_VARIANT(Differential);

}  // namespace
}  // namespace mbfuzz::oracle
