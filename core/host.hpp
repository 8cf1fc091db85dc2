// The harness side of the kernel boundary: what memblock.c sees as physical
// memory, and the record of what it reports during one call.
//
// Physical memory is simulated so that physical addresses keep their real
// values. Addresses below `window_size` map one-to-one onto a MAP_NORESERVE
// mapping; memory there is real, which memblock needs for the region arrays
// memblock_double_array() places in it. Every other address gets a handle: a
// pointer that __pa() maps back exactly, whose memory is never accessed
// (memset through it is recorded, not performed; memcpy through it aborts the
// call as a simulation limit). Zeroing is recorded for every memset, so a
// zeroing allocation of any size is checked; in the window, zeroing whole
// pages is done with MADV_DONTNEED (same contents, no page faults).
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "core/outcome.hpp"

namespace mbfuzz::host {

// log2 of the window: 2^45 bytes (32 TiB) of address space, reserved but
// not committed. MBFUZZ_WINDOW_BITS (30 to 45) makes it smaller, for tools
// that cannot map that much (valgrind): more addresses then get handles, and
// a region array placed above the window ends the call as a simulation limit.
inline constexpr int default_window_bits = 45;

// KMALLOC_MAX_SIZE of SLUB with MAX_ORDER 11: larger kmallocs return NULL.
inline constexpr std::size_t kmalloc_max_size = std::size_t{4} << 20;

// The most page blocks one free_all records: 2^20 blocks of up to 4 MiB
// (4 TiB). A hand-off of more (memory near the top of the address space)
// ends the call as a simulation limit instead of exhausting the host.
inline constexpr std::size_t max_page_blocks = std::size_t{1} << 20;

// What the kernel side reported during the current call.
struct Recording {
  std::vector<KernelEvent> events;
  std::vector<std::pair<Phys, Phys>> zeroed;  // [start, end) ranges memset to 0
  BuddyRelease buddy;
  std::vector<std::string> log;  // printk lines
};

// Did the memsets recorded during the current call cover [start, end)?
bool zeroed_during_call(Phys start, Phys end);

// Clears the recording: called before each memblock call.
void start_recording();
const Recording& recording();

// Returns simulated memory to its pristine state: releases the window's
// touched pages, forgets handles, frees kmalloc'd objects.
void reset_memory();

// True for a pointer returned by the simulated kmalloc.
bool is_slab_object(const void* p);

// True when [p, p + n) lies inside one object of the simulated kmalloc.
bool in_slab_object(const void* p, std::size_t n);

}  // namespace mbfuzz::host
