// The checks can fail: every broken copy of bootmem.c (ci/bootmem-mutants.list,
// built into this program) is caught, by the corpus of bootmem traces or by
// the random three-way differential test, while bootmem as written passes
// both (bootmem_differential_test.cpp, the corpus ctests).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/bootmem.hpp"
#include "core/tests/random_bootmem_ops.hpp"
#include "core/trace.hpp"
#include "core/variant.hpp"
#include "oracle/executor.hpp"

namespace mbfuzz::oracle {
namespace {

struct Catch {
  std::string by;         // which check: a corpus trace, or "random sequence N"
  std::string signature;  // of the divergence
};

std::optional<Catch> first_catch(DifferentialExecutor& executor) {
  std::vector<std::filesystem::path> traces;
  for (const char* dir : {"corpus/bootmem", "corpus/known"})
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(MBFUZZ_SOURCE_DIR) / dir))
      if (entry.path().extension() == ".trace" && entry.path().filename().string().starts_with(
                                                      std::string(dir).ends_with("known") ? "bootmem-" : ""))
        traces.push_back(entry.path());
  std::sort(traces.begin(), traces.end());
  for (const auto& path : traces) {
    const CheckResult r = executor.check(read_trace(path.string()).ops);
    if (r.verdict == CheckResult::Verdict::diverged)
      return Catch{path.filename().string(), r.divergence->signature()};
  }
  for (int seed = 0; seed < 2000; ++seed) {
    const CheckResult r = executor.check(testing::RandomBootmemOps(static_cast<std::uint64_t>(seed)).sequence(60));
    if (r.verdict == CheckResult::Verdict::diverged)
      return Catch{"random sequence " + std::to_string(seed), r.divergence->signature()};
  }
  return std::nullopt;
}

TEST(BrokenBootmem, every_broken_bootmem_is_caught) {
  ASSERT_GE(broken_bootmem_builds().size(), 10u) << "ci/bootmem-mutants.list was not built in";
  {
    DifferentialExecutor as_written(default_variant());
    EXPECT_FALSE(first_catch(as_written)) << "bootmem as written must pass";
  }
  for (const BootmemBuild& broken : broken_bootmem_builds()) {
    DifferentialExecutor executor(default_variant(), broken);
    const std::optional<Catch> caught = first_catch(executor);
    EXPECT_TRUE(caught) << broken.name << " is not caught";
    if (caught) std::printf("  %-30s caught by %-40s %s\n", std::string(broken.name).c_str(), caught->by.c_str(),
                            caught->signature.c_str());
  }
}

}  // namespace
}  // namespace mbfuzz::oracle
