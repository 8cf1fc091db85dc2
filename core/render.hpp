// Text renderings of outcomes and state, for people: the replay output and,
// later, the reporters of findings. Complete: two renderings are equal exactly
// when the data are.
#pragma once

#include <string>

#include "core/outcome.hpp"
#include "core/snapshot.hpp"

namespace mbfuzz {

// One line: "=> 0x1000", "=> -12 (ENOMEM)", "=> NULL", ..., then events.
std::string render_outcome(const Outcome& outcome);

// The globals, then memory and reserved as tables of [base, end) size flags nid.
std::string render_snapshot(const Snapshot& snapshot);

std::string render_flags(std::uint32_t flags);

}  // namespace mbfuzz
