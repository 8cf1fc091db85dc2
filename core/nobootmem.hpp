// How memblock answers bootmem's calls: the memblock calls a kernel without
// bootmem (CONFIG_NO_BOOTMEM, mm/nobootmem.c of 4.x) made for them, so that
// one bootmem sequence runs on both allocators. A producer of Ops like the
// boot layouts; docs/allocators.md has the table.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "core/op.hpp"

namespace mbfuzz {

struct MemblockCalls {
  std::vector<Op> ops;
  std::vector<std::size_t> origin;  // for each op, the index of the bootmem call it answers
};

// `bootmem_ops` holds bootmem's calls only (is_bootmem_op). The calls stop
// at the first free_all_bootmem: after the hand-off neither allocator is
// asked anything.
MemblockCalls nobootmem_calls(std::span<const Op> bootmem_ops);

}  // namespace mbfuzz
