// How memblock answers bootmem's calls (docs/allocators.md, the nobootmem
// table): each call becomes the memblock calls a kernel without bootmem
// made, and nothing is asked after the hand-off.
#include <gtest/gtest.h>

#include "core/nobootmem.hpp"
#include "core/trace.hpp"

namespace mbfuzz {
namespace {

constexpr Phys page = 4096;

TEST(Nobootmem, each_bootmem_call_becomes_the_memblock_calls_of_the_table) {
  const std::vector<Op> bootmem{
      InitBootmemNode{.nid = Nid{1}, .start_pfn = 0x100, .end_pfn = 0x300, .map_pfn = 0x100},
      FreeBootmem{.base = 0x100800, .size = 0x3000},
      FreeBootmemNode{.nid = Nid{1}, .base = 0x200000, .size = page},
      ReserveBootmem{.base = 0x100000, .size = page, .exclusive = true},
      ReserveBootmemNode{.nid = Nid{1}, .base = 0x180000, .size = 2 * page, .exclusive = false},
      AllocBootmem{.size = 100, .align = 8, .goal = 0x200000, .limit = 0},
      AllocBootmemNode{.nid = Nid{1}, .size = page, .align = page, .goal = 0, .limit = 0x280000},
      FreeAllBootmem{}};
  const MemblockCalls calls = nobootmem_calls(bootmem);
  const std::vector<Op> expected{
      AddNode{.base = 0x100000, .size = 0x200000, .nid = Nid{1}, .flags = Flags{}},  // the node's pages...
      Reserve{.base = 0x100000, .size = 0x200000},                                 // ...all reserved
      PhysFree{.base = 0x100800, .size = 0x3000},
      PhysFree{.base = 0x200000, .size = page},
      Reserve{.base = 0x100000, .size = page},
      Reserve{.base = 0x180000, .size = 2 * page},
      AllocTryNid{.size = 100, .align = 8, .min = 0x200000, .max = Limit{Limit::accessible}, .nid = Nid{Nid::no_node}},
      AllocTryNid{.size = page, .align = page, .min = 0, .max = Limit{0x280000}, .nid = Nid{1}},
      FreeAll{.max_low_pfn = 0x300}};  // up to the highest node's end
  EXPECT_EQ(calls.ops, expected) << format_trace(calls.ops);
  EXPECT_EQ(calls.origin, (std::vector<std::size_t>{0, 0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(Nobootmem, nothing_is_asked_after_the_hand_off) {
  const std::vector<Op> bootmem{
      InitBootmemNode{.nid = Nid{0}, .start_pfn = 0x100, .end_pfn = 0x200, .map_pfn = 0x100},
      FreeAllBootmem{},
      FreeBootmem{.base = 0x100000, .size = page},
      InitBootmemNode{.nid = Nid{1}, .start_pfn = 0x200, .end_pfn = 0x300, .map_pfn = 0x200},
      FreeAllBootmem{}};
  const MemblockCalls calls = nobootmem_calls(bootmem);
  ASSERT_EQ(calls.ops.size(), 3u) << format_trace(calls.ops);
  EXPECT_EQ(calls.ops.back(), Op(FreeAll{.max_low_pfn = 0x200}));
}

}  // namespace
}  // namespace mbfuzz
