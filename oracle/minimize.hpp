// Shrinking a finding: the smallest op sequence that still diverges with the
// same signature. Ops are dropped first (in halving chunks, then one by one),
// then every number is moved toward a rounder one (0, fewer set bits, a
// power of two), until nothing more can be taken away.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "oracle/executor.hpp"

namespace mbfuzz::oracle {

struct Minimized {
  std::vector<Op> ops;
  std::string signature;
  std::size_t runs = 0;  // sequences checked along the way
};

// `ops` must diverge (not a known divergence) on the executor's variant;
// returns nullopt otherwise. `max_runs` bounds the work.
std::optional<Minimized> minimize(DifferentialExecutor& executor, std::vector<Op> ops,
                                  std::size_t max_runs = 20000);

}  // namespace mbfuzz::oracle
