// A kernel log taken with memblock=debug, as a trace: the calls it logs, the
// addresses its allocations returned, and its `MEMBLOCK configuration:`
// dumps as expected states. `mbfuzz check` then says whether a replay on the
// production memblock (and the specification) reproduces them.
//
// memblock=debug does not log everything memblock is asked to do. What the
// log leaves out is reconstructed, each op saying so in its comment:
// - calls made before the early parameter was parsed, read off the first
//   dump as the memory and reservations the logged calls do not explain;
// - x86's memblock_trim_memory(PAGE_SIZE) at the end of e820__memblock_setup;
// - x86's NUMA set-up around "Faking a node at [mem ...]" (numa_init,
//   numa_register_memblks, numa_clear_kernel_node_hotplug);
// - allocations whose request is not logged (memblock_phys_alloc_try_nid):
//   NODE_DATA(n) is replayed as that call; any other as its reservation.
// Not reconstructed: memblock_set_current_limit (x86_64 maps all RAM, so the
// limit it sets after init_mem_mapping is no limit), mark/clear_nomap and
// mark_hotplug after the first dump, and NUMA layouts read from SRAT.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/boot/boot.hpp"
#include "core/trace.hpp"
#include "core/variant.hpp"

namespace mbfuzz::boot {

// Throws BootError (file: line:col: message) on a malformed memblock line or
// dump, or when the log has no memblock=debug output at all.
Trace log_trace(std::string_view text, const std::string& source, const Build& build);

Trace log_trace_file(const std::filesystem::path& path, const Build& build);

// The memory and reserved arrays of one `MEMBLOCK configuration:` dump, given
// the lines printk emitted (the heading first), read as a log's dumps are.
// Throws BootError when the lines are not such a dump.
std::vector<ExpectedArray> read_dump(const std::vector<std::string>& lines, const std::string& source);

}  // namespace mbfuzz::boot
