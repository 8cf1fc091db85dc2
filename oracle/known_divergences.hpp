// Where the production memblock is known to depart from its specification:
// reviewed entries, each with evidence, the kernel versions affected, and a
// matcher precise enough that nothing else is excused. A run that hits one
// reports it as known and does not fail; docs/findings.md has the details.
#pragma once

#include <span>
#include <string_view>

#include "oracle/executor.hpp"

namespace mbfuzz::oracle {

struct KnownDivergence {
  std::string_view id;
  std::string_view title;
  std::string_view versions;  // kernel versions known to behave so
  std::string_view evidence;
  bool (*matches)(const Divergence& d, const Knobs& knobs);
};

std::span<const KnownDivergence> known_divergences();

// The entry matching d, or nullptr.
const KnownDivergence* match_known_divergence(const Divergence& d, const Knobs& knobs);

}  // namespace mbfuzz::oracle
