// The queries: overlap and membership tests, sizes, the DRAM bounds, the
// pfn-to-node search, and the two iterators (free ranges, memory pfn ranges).
#include <vector>

#include "core/tests/memblock_fixture.hpp"

namespace mbfuzz::testing {
namespace {

constexpr Nid any_node{Nid::no_node};

class QueryTest : public MemblockTest {
 protected:
  // A free range as for_each_free_mem_range reports it: [start, end) on the region's node.
  Range range(Phys start, Phys end, int nid = -2) const {
    return Range{start, end, nid == -2 ? unassigned_nid(variant()) : shown_nid(variant(), nid)};
  }
};

// Half-open ranges: touching a region's edge from outside is no overlap; one
// shared byte is. Checked for both region types, each alone in memblock.
//
//             1M                      2M
//   ----------+=======================+----------
//        [ a )[ c )              [ d )[ b )
//   a, b touch from outside: false;  c, d share bytes: true
TEST_P(QueryTest, overlaps_region_is_true_only_for_ranges_sharing_a_byte) {
  for (RegionType type : {RegionType::memory, RegionType::reserved}) {
    memblock().reset();
    if (type == RegionType::memory) {
      given({Add{.base = 1 * MiB, .size = 1 * MiB}});
    } else {
      given({Reserve{.base = 1 * MiB, .size = 1 * MiB}});
    }
    auto overlaps = [&](Phys base, Phys size) {
      return truth(OverlapsRegion{.type = type, .base = base, .size = size});
    };
    EXPECT_FALSE(overlaps(1 * MiB - page, page));
    EXPECT_FALSE(overlaps(2 * MiB, page));
    EXPECT_TRUE(overlaps(1 * MiB - page, page + 1));
    EXPECT_TRUE(overlaps(2 * MiB - 1, page));
    EXPECT_TRUE(overlaps(1 * MiB + page, page));
    EXPECT_TRUE(overlaps(0, 4 * MiB));
  }
}

// memblock_overlaps_region(&memblock.<type>, ...) looks at that type only.
TEST_P(QueryTest, overlaps_region_looks_only_at_the_named_type) {
  given({Add{.base = 1 * MiB, .size = 1 * MiB}, Reserve{.base = 8 * MiB, .size = 1 * MiB}});
  EXPECT_TRUE(truth(OverlapsRegion{.type = RegionType::memory, .base = 1 * MiB, .size = page}));
  EXPECT_FALSE(truth(OverlapsRegion{.type = RegionType::reserved, .base = 1 * MiB, .size = page}));
  EXPECT_TRUE(truth(OverlapsRegion{.type = RegionType::reserved, .base = 8 * MiB, .size = page}));
  EXPECT_FALSE(truth(OverlapsRegion{.type = RegionType::memory, .base = 8 * MiB, .size = page}));
}

// "Check if the region [@base, @base + @size) intersects a reserved memory block."
//
//   1M      2M                4M      5M
//   +=======+                 +=======+
//   |   r   |                 |   r   |
//           [   exact gap     )          false
//           [   gap + 1 byte   )         true
TEST_P(QueryTest, is_region_reserved_is_true_when_the_range_intersects_a_reservation) {
  given({Add{.base = 0, .size = 16 * MiB}, Reserve{.base = 1 * MiB, .size = 1 * MiB},
         Reserve{.base = 4 * MiB, .size = 1 * MiB}});
  EXPECT_FALSE(truth(IsRegionReserved{.base = 2 * MiB, .size = 2 * MiB}));
  EXPECT_TRUE(truth(IsRegionReserved{.base = 2 * MiB, .size = 2 * MiB + 1}));
  EXPECT_TRUE(truth(IsRegionReserved{.base = 2 * MiB - 1, .size = 1}));
  EXPECT_FALSE(truth(IsRegionReserved{.base = 0, .size = 1 * MiB}));
  EXPECT_TRUE(truth(IsRegionReserved{.base = 0, .size = 8 * MiB}));
  EXPECT_FALSE(truth(IsRegionReserved{.base = 5 * MiB, .size = 11 * MiB}));
}

// A size running past PHYS_ADDR_MAX is capped (memblock_cap_size), not
// wrapped: [3M, top of the address space) reaches the reservation at 8M.
TEST_P(QueryTest, is_region_reserved_caps_a_range_that_overflows) {
  given({Reserve{.base = 8 * MiB, .size = 1 * MiB}});
  EXPECT_TRUE(truth(IsRegionReserved{.base = 3 * MiB, .size = build().phys_addr_max()}));
}

// An empty range [b, b) intersects nothing, even inside a reservation.
TEST_P(QueryTest, empty_range_intersects_no_reservation) {
  given({Reserve{.base = 1 * MiB, .size = 1 * MiB}});
  if (truth(IsRegionReserved{.base = 1 * MiB + page, .size = 0})) {
    GTEST_SKIP() << "known divergence empty-range-overlaps: memblock_addrs_overlap "
                    "(memblock.c:179) holds for an empty range strictly inside a region, while "
                    "memblock_is_region_reserved's kernel-doc (memblock.c:1844) promises true "
                    "only if [base, base + size) intersects";
  }
  // Away from the reservation's inside, an empty range never overlaps.
  EXPECT_FALSE(truth(IsRegionReserved{.base = 1 * MiB, .size = 0}));
  EXPECT_FALSE(truth(IsRegionReserved{.base = 2 * MiB, .size = 0}));
}

// memblock_is_memory: the address lies in a memory region; reserved ranges
// outside memory do not count.
//
//   1M      2M      3M      4M      5M
//   +=======+-------+-------+=======+
//   | memory|    reserved   | memory|
TEST_P(QueryTest, is_memory_is_true_exactly_inside_memory_regions) {
  given({Add{.base = 1 * MiB, .size = 1 * MiB}, Add{.base = 4 * MiB, .size = 1 * MiB},
         Reserve{.base = 2 * MiB, .size = 2 * MiB}});
  EXPECT_FALSE(truth(IsMemory{.addr = 1 * MiB - 1}));
  EXPECT_TRUE(truth(IsMemory{.addr = 1 * MiB}));
  EXPECT_TRUE(truth(IsMemory{.addr = 2 * MiB - 1}));
  EXPECT_FALSE(truth(IsMemory{.addr = 2 * MiB}));
  EXPECT_FALSE(truth(IsMemory{.addr = 3 * MiB}));
  EXPECT_TRUE(truth(IsMemory{.addr = 4 * MiB}));
  EXPECT_TRUE(truth(IsMemory{.addr = 5 * MiB - 1}));
  EXPECT_FALSE(truth(IsMemory{.addr = 5 * MiB}));
}

// memblock_is_map_memory: memory that is not MEMBLOCK_NOMAP.
//
//   1M      2M      3M      4M
//   +=======+-------+=======+
//   |       | NOMAP |       |
TEST_P(QueryTest, is_map_memory_excludes_nomap_memory) {
  given({Add{.base = 1 * MiB, .size = 3 * MiB}, MarkNomap{.base = 2 * MiB, .size = 1 * MiB}});
  EXPECT_TRUE(truth(IsMapMemory{.addr = 2 * MiB - 1}));
  EXPECT_TRUE(truth(IsMemory{.addr = 2 * MiB}));
  EXPECT_FALSE(truth(IsMapMemory{.addr = 2 * MiB}));
  EXPECT_FALSE(truth(IsMapMemory{.addr = 3 * MiB - 1}));
  EXPECT_TRUE(truth(IsMapMemory{.addr = 3 * MiB}));
  EXPECT_FALSE(truth(IsMapMemory{.addr = 8 * MiB}));
}

// "Check if the region [@base, @base + @size) is a subset of a memory block."
TEST_P(QueryTest, is_region_memory_requires_a_subset_of_memory) {
  given({Add{.base = 1 * MiB, .size = 1 * MiB}, Add{.base = 4 * MiB, .size = 1 * MiB}});
  EXPECT_TRUE(truth(IsRegionMemory{.base = 1 * MiB, .size = 1 * MiB}));
  EXPECT_TRUE(truth(IsRegionMemory{.base = 1 * MiB + page, .size = page}));
  EXPECT_FALSE(truth(IsRegionMemory{.base = 1 * MiB, .size = 1 * MiB + 1}));
  EXPECT_FALSE(truth(IsRegionMemory{.base = 1 * MiB - 1, .size = 2}));
  EXPECT_FALSE(truth(IsRegionMemory{.base = 2 * MiB, .size = page}));
  EXPECT_FALSE(truth(IsRegionMemory{.base = 1 * MiB, .size = 4 * MiB}));
}

// "... a subset of a memory block": one block. Two adjacent blocks kept apart
// by their flags do not make one.
//
//   1M            2M            3M
//   +=============+=============+
//   |    NONE     |   HOTPLUG   |
//        [    range    )          false
TEST_P(QueryTest, is_region_memory_does_not_span_two_memory_blocks) {
  given({Add{.base = 1 * MiB, .size = 1 * MiB},
         AddNode{.base = 2 * MiB, .size = 1 * MiB, .nid = Nid{0}, .flags = Flags{Flags::hotplug}}});
  ASSERT_EQ(memory_regions().size(), 2u);
  EXPECT_TRUE(truth(IsRegionMemory{.base = 2 * MiB, .size = 1 * MiB}));
  EXPECT_FALSE(truth(IsRegionMemory{.base = 1 * MiB + page, .size = 1 * MiB}));
}

// memblock_is_reserved: the address lies in a reserved region; memory does not count.
TEST_P(QueryTest, is_reserved_is_true_exactly_inside_reserved_regions) {
  given({Add{.base = 8 * MiB, .size = 1 * MiB}, Reserve{.base = 1 * MiB, .size = 1 * MiB}});
  EXPECT_FALSE(truth(IsReserved{.addr = 1 * MiB - 1}));
  EXPECT_TRUE(truth(IsReserved{.addr = 1 * MiB}));
  EXPECT_TRUE(truth(IsReserved{.addr = 2 * MiB - 1}));
  EXPECT_FALSE(truth(IsReserved{.addr = 2 * MiB}));
  EXPECT_FALSE(truth(IsReserved{.addr = 8 * MiB}));
}

// memblock_phys_mem_size: the size of the union of memory, NOMAP included,
// reservations not counted.
TEST_P(QueryTest, phys_mem_size_is_the_size_of_all_memory) {
  EXPECT_EQ(address(PhysMemSize{}), 0u);
  given({Add{.base = 1 * MiB, .size = 1 * MiB}, Add{.base = 4 * MiB, .size = 0x1800},
         Add{.base = 1 * MiB + 512 * KiB, .size = 1536 * KiB},  // overlaps: union is [1M, 3M)
         MarkNomap{.base = 2 * MiB, .size = 1 * MiB}, Reserve{.base = 8 * MiB, .size = 1 * MiB}});
  EXPECT_EQ(address(PhysMemSize{}), 2 * MiB + 0x1800);
}

// memblock_reserved_size: the size of the union of reservations; memory not counted.
TEST_P(QueryTest, reserved_size_is_the_size_of_all_reservations) {
  EXPECT_EQ(address(ReservedSize{}), 0u);
  given({Add{.base = 0, .size = 64 * MiB}, Reserve{.base = 1 * MiB, .size = 1 * MiB},
         Reserve{.base = 1 * MiB + 512 * KiB, .size = 1536 * KiB},  // union is [1M, 3M)
         Reserve{.base = 8 * MiB, .size = 0x10}});
  EXPECT_EQ(address(ReservedSize{}), 2 * MiB + 0x10);
}

// The lowest memory address and the end of the highest memory region,
// whatever order the memory was added in; reservations do not count.
//
//   1M   2M        4M   5M        8M   9M        16M  17M
//   +====+         +====+         +====+         +----+
//   ^ start                            ^ end      (reserved)
TEST_P(QueryTest, start_and_end_of_dram_bound_the_memory) {
  given({Add{.base = 8 * MiB, .size = 1 * MiB}, Add{.base = 1 * MiB, .size = 1 * MiB},
         Add{.base = 4 * MiB, .size = 1 * MiB}, Reserve{.base = 16 * MiB, .size = 1 * MiB},
         Reserve{.base = 0, .size = page}});
  EXPECT_EQ(address(StartOfDram{}), 1 * MiB);
  EXPECT_EQ(address(EndOfDram{}), 9 * MiB);
}

// Without memory, both are 0 (the empty dummy region).
TEST_P(QueryTest, start_and_end_of_dram_are_zero_without_memory) {
  given({Reserve{.base = 1 * MiB, .size = 1 * MiB}});
  EXPECT_EQ(address(StartOfDram{}), 0u);
  EXPECT_EQ(address(EndOfDram{}), 0u);
}

// memblock_search_pfn_nid: the node and the pfn span of the memory region
// holding the pfn.
TEST_P(QueryTest, search_pfn_nid_reports_the_region_holding_the_pfn) {
  given({AddNode{.base = 1 * MiB, .size = 1 * MiB, .nid = Nid{1}, .flags = Flags{}},
         AddNode{.base = 4 * MiB, .size = 4 * MiB, .nid = Nid{0}, .flags = Flags{}},
         Add{.base = 16 * MiB, .size = 1 * MiB}});
  const PfnNid first{shown_nid(variant(), 1), 0x100, 0x200};
  EXPECT_EQ(pfn_nid(0x100), first);
  EXPECT_EQ(pfn_nid(0x1ff), first);
  EXPECT_EQ(pfn_nid(0x400), (PfnNid{shown_nid(variant(), 0), 0x400, 0x800}));
  EXPECT_EQ(pfn_nid(0x1000), (PfnNid{unassigned_nid(variant()), 0x1000, 0x1100}));
}

// A pfn outside every memory region gives nid -1.
TEST_P(QueryTest, search_pfn_nid_is_minus_one_outside_memory) {
  given({Add{.base = 1 * MiB, .size = 1 * MiB}, Reserve{.base = 4 * MiB, .size = 1 * MiB}});
  EXPECT_EQ(pfn_nid(0x0ff).nid, -1);
  EXPECT_EQ(pfn_nid(0x200).nid, -1);
  EXPECT_EQ(pfn_nid(0x400).nid, -1);
}

// Free ranges are memory minus reserved, in ascending order; reservations
// outside memory change nothing.
//
//   1M        2M   3M   4M    5M  6M  7M   8M         9M             12M
//   +=========+----+====+     +---+   +----+----------+===============+
//   |  free   | r  |free|     | r |   | r  | r (mem)  |     free      |
TEST_P(QueryTest, free_ranges_are_memory_minus_reserved_in_ascending_order) {
  given({Add{.base = 1 * MiB, .size = 3 * MiB}, Add{.base = 8 * MiB, .size = 4 * MiB},
         Reserve{.base = 2 * MiB, .size = 1 * MiB}, Reserve{.base = 5 * MiB, .size = 1 * MiB},
         Reserve{.base = 7 * MiB, .size = 2 * MiB}});
  EXPECT_EQ(
      ranges(FreeRanges{.nid = any_node, .flags = Flags{}, .reverse = false}),
      (std::vector{range(1 * MiB, 2 * MiB), range(3 * MiB, 4 * MiB), range(9 * MiB, 12 * MiB)}));
}

// for_each_free_mem_range_reverse: the same ranges, highest first.
TEST_P(QueryTest, reverse_free_ranges_are_the_same_ranges_in_descending_order) {
  given({Add{.base = 1 * MiB, .size = 3 * MiB}, Add{.base = 8 * MiB, .size = 4 * MiB},
         Reserve{.base = 2 * MiB, .size = 1 * MiB}, Reserve{.base = 5 * MiB, .size = 1 * MiB},
         Reserve{.base = 7 * MiB, .size = 2 * MiB}});
  EXPECT_EQ(
      ranges(FreeRanges{.nid = any_node, .flags = Flags{}, .reverse = true}),
      (std::vector{range(9 * MiB, 12 * MiB), range(3 * MiB, 4 * MiB), range(1 * MiB, 2 * MiB)}));
}

// Each range lies within one memory region: adjacent regions that differ
// (here in flags) give separate ranges, in either direction.
//
//   1M            2M            3M
//   +=============+=============+
//   |    NONE     |   HOTPLUG   |
TEST_P(QueryTest, free_ranges_split_at_memory_region_boundaries) {
  given({AddNode{.base = 1 * MiB, .size = 1 * MiB, .nid = Nid{0}, .flags = Flags{}},
         AddNode{.base = 2 * MiB, .size = 1 * MiB, .nid = Nid{0}, .flags = Flags{Flags::hotplug}}});
  const std::vector forward = {range(1 * MiB, 2 * MiB, 0), range(2 * MiB, 3 * MiB, 0)};
  EXPECT_EQ(ranges(FreeRanges{.nid = any_node, .flags = Flags{}, .reverse = false}), forward);
  EXPECT_EQ(ranges(FreeRanges{.nid = any_node, .flags = Flags{}, .reverse = true}),
            (std::vector{forward[1], forward[0]}));
}

// NOMAP memory is skipped "unless we were asked for it explicitly" with
// MEMBLOCK_NOMAP in flags.
//
//   1M      2M      3M      4M
//   +=======+-------+=======+
//   |       | NOMAP |       |
TEST_P(QueryTest, free_ranges_skip_nomap_memory_unless_flags_include_nomap) {
  given({Add{.base = 1 * MiB, .size = 3 * MiB}, MarkNomap{.base = 2 * MiB, .size = 1 * MiB}});
  EXPECT_EQ(ranges(FreeRanges{.nid = any_node, .flags = Flags{}, .reverse = false}),
            (std::vector{range(1 * MiB, 2 * MiB), range(3 * MiB, 4 * MiB)}));
  EXPECT_EQ(
      ranges(FreeRanges{.nid = any_node, .flags = Flags{Flags::nomap}, .reverse = false}),
      (std::vector{range(1 * MiB, 2 * MiB), range(2 * MiB, 3 * MiB), range(3 * MiB, 4 * MiB)}));
}

// No memory, or all of it reserved: nothing is free.
TEST_P(QueryTest, free_ranges_are_empty_without_free_memory) {
  EXPECT_TRUE(ranges(FreeRanges{.nid = any_node, .flags = Flags{}, .reverse = false}).empty());
  given({Add{.base = 1 * MiB, .size = 1 * MiB}, Reserve{.base = 0, .size = 4 * MiB}});
  EXPECT_TRUE(ranges(FreeRanges{.nid = any_node, .flags = Flags{}, .reverse = false}).empty());
  EXPECT_TRUE(ranges(FreeRanges{.nid = any_node, .flags = Flags{}, .reverse = true}).empty());
}

// for_each_mem_pfn_range: each memory region as the whole pages inside it,
// PFN_UP(base)..PFN_DOWN(end); regions holding no whole page are left out.
//
//   1M+2K            2M+2K   4M+256 4M+3840  5M-2K 5M+2K   8M        9M
//   +==================+       +====+        +==|==+       +=========+
//   pfn 0x101 .. 0x200           no page      no page      0x800 .. 0x900
TEST_P(QueryTest, mem_pfn_ranges_are_the_whole_pages_of_each_memory_region) {
  given({Add{.base = 1 * MiB + 2 * KiB, .size = 1 * MiB},
         Add{.base = 4 * MiB + 0x100, .size = 0xe00},
         Add{.base = 5 * MiB - 2 * KiB, .size = 4 * KiB}, Add{.base = 8 * MiB, .size = 1 * MiB}});
  EXPECT_EQ(ranges(MemPfnRanges{.nid = Nid{build().max_numnodes}}),
            (std::vector{range(0x101, 0x200), range(0x800, 0x900)}));
}

// They describe memory, not free memory: reserved and NOMAP memory is listed,
// one range per region.
TEST_P(QueryTest, mem_pfn_ranges_include_reserved_and_nomap_memory) {
  given({Add{.base = 8 * MiB, .size = 1 * MiB}, Reserve{.base = 8 * MiB, .size = 1 * MiB},
         MarkNomap{.base = 8 * MiB, .size = 512 * KiB}});
  EXPECT_EQ(ranges(MemPfnRanges{.nid = Nid{build().max_numnodes}}),
            (std::vector{range(0x800, 0x880), range(0x880, 0x900)}));
}

MBFUZZ_EVERY_VARIANT(QueryTest);

// Three regions on two nodes.
//
//   1M  node 0  2M        4M   node 1   6M        8M  node 0  9M
//   +===========+         +=============+         +===========+
using QueryNumaTest = QueryTest;

const std::vector<Op> two_nodes = {
    AddNode{.base = 1 * MiB, .size = 1 * MiB, .nid = Nid{0}, .flags = Flags{}},
    AddNode{.base = 4 * MiB, .size = 2 * MiB, .nid = Nid{1}, .flags = Flags{}},
    AddNode{.base = 8 * MiB, .size = 1 * MiB, .nid = Nid{0}, .flags = Flags{}}};

// A nid selects the free ranges of that node's memory, in either direction.
TEST_P(QueryNumaTest, free_ranges_filter_by_nid) {
  given(two_nodes);
  given({Reserve{.base = 5 * MiB, .size = page}});
  EXPECT_EQ(ranges(FreeRanges{.nid = Nid{0}, .flags = Flags{}, .reverse = false}),
            (std::vector{range(1 * MiB, 2 * MiB, 0), range(8 * MiB, 9 * MiB, 0)}));
  EXPECT_EQ(ranges(FreeRanges{.nid = Nid{0}, .flags = Flags{}, .reverse = true}),
            (std::vector{range(8 * MiB, 9 * MiB, 0), range(1 * MiB, 2 * MiB, 0)}));
  EXPECT_EQ(ranges(FreeRanges{.nid = Nid{1}, .flags = Flags{}, .reverse = false}),
            (std::vector{range(4 * MiB, 5 * MiB, 1), range(5 * MiB + page, 6 * MiB, 1)}));
  EXPECT_EQ(ranges(FreeRanges{.nid = any_node, .flags = Flags{}, .reverse = false}).size(), 4u);
}

// A nid selects that node's pfn ranges; MAX_NUMNODES selects every node.
TEST_P(QueryNumaTest, mem_pfn_ranges_filter_by_nid_and_max_numnodes_means_all) {
  given(two_nodes);
  EXPECT_EQ(ranges(MemPfnRanges{.nid = Nid{0}}),
            (std::vector{range(0x100, 0x200, 0), range(0x800, 0x900, 0)}));
  EXPECT_EQ(ranges(MemPfnRanges{.nid = Nid{1}}), std::vector{range(0x400, 0x600, 1)});
  EXPECT_EQ(ranges(MemPfnRanges{.nid = Nid{build().max_numnodes}}),
            (std::vector{range(0x100, 0x200, 0), range(0x400, 0x600, 1), range(0x800, 0x900, 0)}));
}

MBFUZZ_NUMA_VARIANTS(QueryNumaTest);

}  // namespace
}  // namespace mbfuzz::testing
