// Reporters for findings: a Divergence is data; these render it for people.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "oracle/executor.hpp"

namespace mbfuzz::oracle {

// The op, what was checked, expected and actual; the region arrays side by
// side (rows that differ marked); and a picture of the address range
// around the difference.
std::string render_divergence(const Divergence& d);

// One line per array state: '=' free memory, '#' reserved memory,
// 'r' reserved without memory, 'n' NOMAP memory, '.' neither, over [lo, hi).
std::string render_picture(const Snapshot& expected, const Snapshot& actual, Phys lo, Phys hi);

// The one line a fuzzing campaign deduplicates findings by:
// "mbfuzz-signature: <variant> <op>: <check>".
std::string render_signature_line(std::string_view variant, const Divergence& d);

// A whole finding for a log: the divergence, the trace that leads to it (up
// to the diverging op) and, last, the signature line.
std::string render_finding(std::string_view variant, std::span<const Op> ops, const Divergence& d);

}  // namespace mbfuzz::oracle
