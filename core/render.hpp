// Text renderings of outcomes and state, for people: the replay output and,
// later, the reporters of findings. Complete: two renderings are equal exactly
// when the data are.
#pragma once

#include <string>
#include <vector>

#include "core/bootmem.hpp"
#include "core/outcome.hpp"
#include "core/snapshot.hpp"
#include "core/variant.hpp"

namespace mbfuzz {

// One line: "=> 0x1000", "=> -12 (ENOMEM)", "=> NULL", ..., then events.
std::string render_outcome(const Outcome& outcome);

// The globals, then memory and reserved as tables of [base, end) size flags nid.
std::string render_snapshot(const Snapshot& snapshot);

std::string render_flags(std::uint32_t flags);

// bootmem's nodes in list order: span, bitmap place, hint, the last
// allocation's end, and the runs of reserved pages.
std::string render_bootmem(const BootmemSnapshot& snapshot);

// The lines memblock_dump_all() prints of this state when booted with
// memblock=debug, as a kernel of this build prints them: %pa is 0x and every
// hex digit of phys_addr_t, a region's end is base + size - 1 in that width,
// and the node is shown only where CONFIG_NUMA has one other than
// MAX_NUMNODES. The boot-log reader reads them back (core/boot/log.hpp).
std::vector<std::string> render_memblock_dump(const Snapshot& snapshot, const Build& build);

}  // namespace mbfuzz
