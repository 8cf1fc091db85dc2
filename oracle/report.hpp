// Reporters for findings: a Divergence is data; these render it for people.
#pragma once

#include <string>

#include "oracle/executor.hpp"

namespace mbfuzz::oracle {

// The op, what was checked, expected and actual; the region arrays side by
// side (rows that differ marked); and a picture of the address range
// around the difference.
std::string render_divergence(const Divergence& d);

// One line per array state: '=' free memory, '#' reserved memory,
// 'r' reserved without memory, 'n' NOMAP memory, '.' neither, over [lo, hi).
std::string render_picture(const Snapshot& expected, const Snapshot& actual, Phys lo, Phys hi);

}  // namespace mbfuzz::oracle
