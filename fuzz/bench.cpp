// The cost of checking: the same decoded inputs run on the production
// memblock alone and through the differential executor, which also runs the
// specification and compares after every op. ci/bench runs it under
// hyperfine-style timing and under callgrind for instruction counts.
//
// Usage: mbfuzz_bench production|checked [INPUTS] [SEED]
// Prints inputs, ops, seconds, executions and ops per second.
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "core/decode.hpp"
#include "core/production.hpp"
#include "core/variant.hpp"
#include "oracle/executor.hpp"

namespace {

using namespace mbfuzz;

// Inputs like the fuzzer's: random bytes of random length, decoded.
std::vector<std::vector<Op>> make_inputs(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<Op>> inputs;
  for (std::size_t i = 0; i < count; ++i) {
    std::vector<std::uint8_t> bytes(64 + rng() % 960);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    inputs.push_back(decode_ops(bytes));
  }
  return inputs;
}

struct Work {
  bool checked = false;
  std::vector<std::vector<Op>> inputs;
  std::vector<std::size_t> lengths;
};

}  // namespace

// The measured work, under a short plain name so that callgrind can count it
// alone (--toggle-collect=mbfuzz_bench_measured). Both modes run exactly the
// ops the executor checks, so their difference is the cost of checking.
extern "C" [[gnu::noinline]] std::size_t mbfuzz_bench_measured(const Work* work) {
  const auto& inputs = work->inputs;
  const auto& lengths = work->lengths;
  std::size_t ops = 0;
  if (!work->checked) {
    ProductionMemblock memblock(default_variant());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      memblock.reset();
      for (std::size_t k = 0; k < lengths[i]; ++k) {
        // What the executor reads from production after each op.
        (void)memblock.run(inputs[i][k]);
        (void)memblock.snapshot();
        ++ops;
      }
    }
  } else {
    oracle::DifferentialExecutor executor(default_variant());
    for (std::size_t i = 0; i < inputs.size(); ++i)
      ops += executor.check(std::span(inputs[i]).first(lengths[i])).ops_checked;
  }
  return ops;
}

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  if (mode != "production" && mode != "checked") {
    fmt::print(stderr, "usage: mbfuzz_bench production|checked [INPUTS] [SEED]\n");
    return 2;
  }
  const std::size_t count = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 2000;
  const std::uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  Work work{mode == "checked", make_inputs(count, seed), {}};
  const auto& inputs = work.inputs;
  // How far each input checks clean (a known divergence or an op outside
  // the specification ends a run): both modes run that prefix.
  {
    oracle::DifferentialExecutor executor(default_variant());
    for (const auto& input : inputs) work.lengths.push_back(executor.check(input).ops_checked);
  }

  const auto start = std::chrono::steady_clock::now();
  const std::size_t ops = mbfuzz_bench_measured(&work);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("{}: {} inputs, {} ops in {:.3f} s: {:.0f} executions/s, {:.0f} ops/s\n", mode, inputs.size(), ops,
             seconds, static_cast<double>(inputs.size()) / seconds, static_cast<double>(ops) / seconds);
  return 0;
}
