// The hand-off to the buddy allocator: memblock_free_all() releases the free
// pages, memblock_discard() frees memblock's own arrays and ends memblock.
#include <vector>

#include "core/tests/memblock_fixture.hpp"

namespace mbfuzz::testing {
namespace {

// [start, end) in pfns.
struct PfnSpan {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  bool operator==(const PfnSpan&) const = default;
};

void PrintTo(const PfnSpan& s, std::ostream* os) {
  *os << "pfns [0x" << std::hex << s.start << ", 0x" << s.end << ")" << std::dec;
}

// The pages the blocks cover, as maximal spans (touching blocks joined).
std::vector<PfnSpan> covered(const std::vector<PageBlock>& blocks) {
  std::vector<PfnSpan> out;
  for (const PageBlock& b : blocks) {
    const std::uint64_t end = b.pfn + (std::uint64_t{1} << b.order);
    if (!out.empty() && out.back().end == b.pfn) {
      out.back().end = end;
    } else {
      out.push_back(PfnSpan{b.pfn, end});
    }
  }
  return out;
}

std::uint64_t pages_in(const std::vector<PageBlock>& blocks) {
  std::uint64_t n = 0;
  for (const PageBlock& b : blocks) n += std::uint64_t{1} << b.order;
  return n;
}

// sizeof(struct memblock_region): base and size (phys_addr_t), flags (an
// enum), nid with NUMA; padded to the alignment of phys_addr_t.
Phys region_struct_size(const Build& b) {
  const Phys phys = Phys(b.phys_bits / 8);
  const Phys raw = 2 * phys + 4 + (b.numa ? 4 : 0);
  return (raw + phys - 1) / phys * phys;
}

class HandoffTest : public MemblockTest {
 protected:
  // Memory with a partly reserved page, a NOMAP hole and a region whose ends
  // are not page aligned.
  //
  //   1M     2M+16 2M+8K+16   4M     5M         9M      16M+2K        20M+256
  //   +======+-----+==========+------+==========+  ...  +===============+
  //   | free |  r  |   free   | NOMAP|   free   |       |     free      |
  //   pfn 0x100..0x200, 0x203..0x400, 0x500..0x900,      0x1001..0x1400
  void layout() {
    given({Add{.base = 1 * MiB, .size = 8 * MiB},
           Add{.base = 16 * MiB + 2 * KiB, .size = 4 * MiB - 0x700},
           Reserve{.base = 2 * MiB + 0x10, .size = 0x2000},
           MarkNomap{.base = 4 * MiB, .size = 1 * MiB}});
  }

  // AllowResize, memory [16M, 32M), then 129 disjoint one-page reservations
  // low in it: the 129th doubles the reserved array, placed top-down at the
  // top of memory (above the range being reserved).
  void double_reserved_array() {
    given({AllowResize{}, Add{.base = 16 * MiB, .size = 16 * MiB}});
    for (Phys i = 0; i < 129; ++i) given({Reserve{.base = 16 * MiB + 2 * i * page, .size = page}});
  }

  // The page-aligned size of a doubled (256-entry) array.
  Phys doubled_array_bytes() const {
    const Phys bytes = 2 * build().init_regions * region_struct_size(build());
    return (bytes + page - 1) / page * page;
  }

  // memblock_free_late of [base, base + size): one order-0 block per page.
  static std::vector<PageBlock> one_by_one(Phys base, Phys size) {
    std::vector<PageBlock> out;
    for (Phys a = base; a < base + size; a += page) out.push_back(PageBlock{a / page, 0});
    return out;
  }
};

// Exactly the whole pages of memory minus reserved, NOMAP excluded, reach
// the buddy allocator: no partly reserved page, no partial page at a region end.
TEST_P(HandoffTest, free_all_releases_exactly_the_whole_free_pages) {
  layout();
  BuddyRelease r = released(FreeAll{.max_low_pfn = 0x100000});
  EXPECT_EQ(covered(r.blocks), (std::vector{PfnSpan{0x100, 0x200}, PfnSpan{0x203, 0x400},
                                            PfnSpan{0x500, 0x900}, PfnSpan{0x1001, 0x1400}}));
}

// Pages at or above max_low_pfn are not released.
//
//   pfn 0x100 0x200 0x203   0x400 0x500  0x600 = max_low_pfn  0x900  0x1001   0x1400
//       +=====+     +=======+-----+======|==================+      +========+
//       | released          |NOMAP| rel. |          kept (at or above max_low_pfn)
TEST_P(HandoffTest, free_all_stops_at_max_low_pfn) {
  layout();
  BuddyRelease r = released(FreeAll{.max_low_pfn = 0x600});
  EXPECT_EQ(covered(r.blocks),
            (std::vector{PfnSpan{0x100, 0x200}, PfnSpan{0x203, 0x400}, PfnSpan{0x500, 0x600}}));
  EXPECT_EQ(r.totalram_pages, 0x100 + 0x1fd + 0x100);
}

// Every block is 2^order pages at a pfn aligned to 2^order, of order at most
// MAX_ORDER - 1, and the blocks come in ascending, disjoint order. The 32 MiB
// region [32M, 64M) (8192 pages, aligned) would take order 13 unbounded.
TEST_P(HandoffTest, free_all_blocks_are_naturally_aligned_ascending_and_within_max_order) {
  layout();
  given({Add{.base = 32 * MiB, .size = 32 * MiB}});
  BuddyRelease r = released(FreeAll{.max_low_pfn = 0x100000});
  ASSERT_FALSE(r.blocks.empty());
  std::uint64_t next = 0;
  for (const PageBlock& b : r.blocks) {
    SCOPED_TRACE(::testing::PrintToString(b));
    EXPECT_LE(b.order, build().max_order - 1);
    EXPECT_EQ(b.pfn % (std::uint64_t{1} << b.order), 0u);
    EXPECT_GE(b.pfn, next);
    next = b.pfn + (std::uint64_t{1} << b.order);
  }
  EXPECT_EQ(covered(r.blocks).back(), (PfnSpan{0x2000, 0x4000}));
}

// totalram_pages grows by the number of pages released: 0x100 + 0x1fd +
// 0x400 + 0x3ff == 2812.
TEST_P(HandoffTest, free_all_adds_the_released_pages_to_totalram) {
  layout();
  BuddyRelease r = released(FreeAll{.max_low_pfn = 0x100000});
  EXPECT_EQ(r.totalram_pages, 2812);
  EXPECT_EQ(pages_in(r.blocks), 2812u);
}

// free_low_memory_core_early clears MEMBLOCK_HOTPLUG on all memory (the
// regions then merge back); reservations are left as they were.
//
//   1M      2M      3M              9M           1M                     9M
//   +=======+=======+===============+    ==>     +======================+
//   |       |HOTPLUG|               |            |                      |
TEST_P(HandoffTest, free_all_clears_hotplug_flags_on_memory) {
  given({Add{.base = 1 * MiB, .size = 8 * MiB}, MarkHotplug{.base = 2 * MiB, .size = 1 * MiB},
         Reserve{.base = 4 * MiB, .size = page}});
  ASSERT_EQ(memory_regions().size(), 3u);
  released(FreeAll{.max_low_pfn = 0x100000});
  EXPECT_EQ(memory_regions(), std::vector{region(1 * MiB, 8 * MiB)});
  EXPECT_EQ(reserved_regions(), std::vector{reserved(4 * MiB, page)});
}

// Since the HOTPLUG flags are cleared first, hotpluggable memory is released
// even with movable_node, which hides it from allocations.
TEST_P(HandoffTest, free_all_releases_hotplug_memory_even_with_movable_node) {
  given({SetMovableNode{.on = true}, Add{.base = 1 * MiB, .size = 1 * MiB},
         MarkHotplug{.base = 1 * MiB, .size = 1 * MiB}});
  BuddyRelease r = released(FreeAll{.max_low_pfn = 0x100000});
  EXPECT_EQ(covered(r.blocks), (std::vector{PfnSpan{0x100, 0x200}}));
  EXPECT_EQ(r.totalram_pages, 0x100);
}

// After memblock_discard() memblock is gone: the snapshot says so, and every
// later op is refused without running.
TEST_P(HandoffTest, discard_refuses_every_later_op) {
  given({Add{.base = 1 * MiB, .size = 8 * MiB}, Reserve{.base = 2 * MiB, .size = page}});
  released(Discard{});
  EXPECT_TRUE(state().discarded);
  const Snapshot after_discard = state();
  const std::vector<Op> later = {Add{.base = 16 * MiB, .size = 1 * MiB},
                                 Reserve{.base = 4 * MiB, .size = page},
                                 PhysAlloc{.size = page, .align = page},
                                 Alloc{.size = page, .align = page},
                                 IsMemory{.addr = 1 * MiB},
                                 FreeRanges{.nid = Nid{}, .flags = Flags{}, .reverse = false},
                                 FreeAll{.max_low_pfn = 0x100000},
                                 Discard{}};
  for (const Op& op : later) {
    SCOPED_TRACE(op_name(op));
    Outcome outcome = memblock().run(op);
    EXPECT_EQ(outcome.status, Outcome::Status::refused);
    EXPECT_TRUE(outcome.events.empty());
    EXPECT_EQ(state(), after_discard);
  }
}

// With both arrays still the static ones there is nothing to free.
TEST_P(HandoffTest, discard_with_static_arrays_releases_no_pages) {
  given({Add{.base = 1 * MiB, .size = 8 * MiB}, Reserve{.base = 2 * MiB, .size = page}});
  BuddyRelease r = released(Discard{});
  EXPECT_TRUE(r.blocks.empty());
  EXPECT_EQ(r.totalram_pages, 0);
}

// A doubled reserved array lives in memblock memory: discard hands its pages
// to the buddy allocator one by one (memblock_free_late).
//
//   16M   r r r ... r (129 pages, every other page)       32M - array   32M
//   +=+-+=+-+=+ ... -+==================================+=============+
//                                                       | new array   |
TEST_P(HandoffTest, discard_hands_a_doubled_reserved_array_to_the_buddy_allocator) {
  double_reserved_array();
  const Phys bytes = doubled_array_bytes();
  const Snapshot s = state();
  ASSERT_FALSE(s.reserved.in_static_array);
  ASSERT_EQ(s.reserved.max, 2 * build().init_regions);
  ASSERT_EQ(s.reserved.regions.back(), reserved(32 * MiB - bytes, bytes));
  BuddyRelease r = released(Discard{});
  EXPECT_EQ(r.blocks, one_by_one(32 * MiB - bytes, bytes));
  EXPECT_EQ(r.totalram_pages, static_cast<long>(bytes / page));
}

// The same for a doubled memory array: 129 disjoint memory regions; the new
// array goes to the top of memory and is reserved there.
TEST_P(HandoffTest, discard_hands_a_doubled_memory_array_to_the_buddy_allocator) {
  given({AllowResize{}, Add{.base = 32 * MiB, .size = 16 * MiB}});
  for (Phys i = 0; i < 128; ++i) given({Add{.base = 16 * MiB + 2 * i * page, .size = page}});
  const Phys bytes = doubled_array_bytes();
  ASSERT_FALSE(state().memory.in_static_array);
  ASSERT_EQ(reserved_regions(), std::vector{reserved(48 * MiB - bytes, bytes)});
  BuddyRelease r = released(Discard{});
  EXPECT_EQ(r.blocks, one_by_one(48 * MiB - bytes, bytes));
  EXPECT_EQ(r.totalram_pages, static_cast<long>(bytes / page));
}

MBFUZZ_EVERY_VARIANT(HandoffTest);

}  // namespace
}  // namespace mbfuzz::testing
