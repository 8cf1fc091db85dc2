// Scenarios for the calls that add, remove and re-attribute ranges:
// memblock_add, _add_node, _remove, _reserve, _phys_free, _free,
// _mark/_clear_hotplug, _mark/_clear_nomap, _mark_mirror and _set_node.
//
// Expected values are worked out from the kernel-doc of mm/memblock.c and
// include/linux/memblock.h, never from running the code. Pictures show
// regions as boxes on an address line that grows to the right.
#include <initializer_list>
#include <string>
#include <vector>

#include "core/tests/memblock_fixture.hpp"
#include "core/trace.hpp"

namespace mbfuzz::testing {
namespace {

using Regions = std::vector<Region>;
constexpr std::uint32_t hotplug = Flags::hotplug;
constexpr std::uint32_t nomap = Flags::nomap;
constexpr std::uint32_t mirror = Flags::mirror;

class RangeTest : public MemblockTest {
 protected:
  AddNode on_node(Phys base, Phys size, int nid, std::uint32_t flags = 0) const {
    return AddNode{.base = base, .size = size, .nid = Nid{nid}, .flags = Flags{flags}};
  }
};

// ---- memblock_add -----------------------------------------------------------

using RangeAdd = RangeTest;

// Ranges with a gap between them stay separate regions, kept sorted by base
// whatever order they were added in.
//   |   +--second--+        +--first--+   |
TEST_P(RangeAdd, add_disjoint_ranges_stay_separate_in_address_order) {
  EXPECT_EQ(err(Add{.base = 64 * MiB, .size = 16 * MiB}), 0);
  EXPECT_EQ(err(Add{.base = 16 * MiB, .size = 16 * MiB}), 0);
  EXPECT_EQ(memory_regions(), (Regions{region(16 * MiB, 16 * MiB), region(64 * MiB, 16 * MiB)}));
  EXPECT_EQ(state().memory.total_size, 32 * MiB);
}

// A range that touches a region (above or below) merges with it: the array
// stays minimal.
//   |+-new2-++--first--++-new1-+|   =>   |+---------one---------+|
TEST_P(RangeAdd, add_adjacent_ranges_merge_into_one) {
  given({Add{.base = 16 * MiB, .size = 16 * MiB}});
  EXPECT_EQ(err(Add{.base = 32 * MiB, .size = 16 * MiB}), 0);
  EXPECT_EQ(err(Add{.base = 0, .size = 16 * MiB}), 0);
  EXPECT_EQ(memory_regions(), Regions{region(0, 48 * MiB)});
  EXPECT_EQ(state().memory.total_size, 48 * MiB);
}

// Overlapping ranges merge; the shared part is counted once in total_size.
//   |   +----r1----+            |
//   |         +----r2----+      |
TEST_P(RangeAdd, add_overlapping_range_merges_and_counts_the_overlap_once) {
  given({Add{.base = 16 * MiB, .size = 32 * MiB}});
  EXPECT_EQ(err(Add{.base = 32 * MiB, .size = 32 * MiB}), 0);
  EXPECT_EQ(memory_regions(), Regions{region(16 * MiB, 48 * MiB)});
  EXPECT_EQ(state().memory.total_size, 48 * MiB);
}

// Adding a range already covered by memory changes nothing at all.
TEST_P(RangeAdd, add_range_inside_a_region_changes_nothing) {
  given({Add{.base = 16 * MiB, .size = 32 * MiB}});
  const Snapshot before = state();
  EXPECT_EQ(err(Add{.base = 20 * MiB, .size = 4 * MiB}), 0);
  EXPECT_EQ(state(), before);
}

// A range covering a region extends it on both sides.
//   |     +-r-+      |
//   | +-----new----+ |
TEST_P(RangeAdd, add_range_covering_a_region_extends_it_on_both_sides) {
  given({Add{.base = 16 * MiB, .size = 16 * MiB}});
  EXPECT_EQ(err(Add{.base = 0, .size = 64 * MiB}), 0);
  EXPECT_EQ(memory_regions(), Regions{region(0, 64 * MiB)});
  EXPECT_EQ(state().memory.total_size, 64 * MiB);
}

// Filling exactly the gap between two regions merges all three.
//   |+--r1--+.gap.+--r2--+|  =>  |+--------one--------+|
TEST_P(RangeAdd, add_range_bridging_a_gap_merges_three_into_one) {
  given({Add{.base = 0, .size = 16 * MiB}, Add{.base = 32 * MiB, .size = 16 * MiB}});
  EXPECT_EQ(err(Add{.base = 16 * MiB, .size = 16 * MiB}), 0);
  EXPECT_EQ(memory_regions(), Regions{region(0, 48 * MiB)});
  EXPECT_EQ(state().memory.cnt, 1u);
}

// size 0 adds nothing, to an empty map (the dummy is not filled) or not.
TEST_P(RangeAdd, add_of_zero_size_is_a_noop_returning_zero) {
  const Snapshot fresh = state();
  EXPECT_EQ(err(Add{.base = 5 * MiB, .size = 0}), 0);
  EXPECT_EQ(state(), fresh);
  given({Add{.base = 16 * MiB, .size = 16 * MiB}});
  const Snapshot before = state();
  EXPECT_EQ(err(Add{.base = 32 * MiB, .size = 0}), 0);
  EXPECT_EQ(state(), before);
}

// A range running past the top of the address space is capped so that
// base + size does not overflow: size becomes PHYS_ADDR_MAX - base.
TEST_P(RangeAdd, add_reaching_the_top_of_the_address_space_is_capped) {
  const Phys base = top() - 16 * MiB + 1;  // the last 16 MiB
  EXPECT_EQ(err(Add{.base = base, .size = 64 * MiB}), 0);
  EXPECT_EQ(memory_regions(), Regions{region(base, 16 * MiB - 1)});
  EXPECT_EQ(state().memory.total_size, 16 * MiB - 1);
}

MBFUZZ_EVERY_VARIANT(RangeAdd);

// ---- memblock_add_node ------------------------------------------------------

using RangeAddNode = RangeTest;

// The region carries the given node (shown as 0 without NUMA) and flags.
TEST_P(RangeAddNode, add_node_records_nid_and_flags) {
  EXPECT_EQ(err(on_node(1 * MiB, 16 * MiB, 1, hotplug)), 0);
  EXPECT_EQ(memory_regions(), Regions{region(1 * MiB, 16 * MiB, hotplug, 1)});
  EXPECT_EQ(state().memory.total_size, 16 * MiB);
}

// Touching ranges merge when node and flags are equal.
TEST_P(RangeAddNode, add_node_adjacent_ranges_with_equal_nid_and_flags_merge) {
  given({on_node(0, 16 * MiB, 1, hotplug)});
  EXPECT_EQ(err(on_node(16 * MiB, 16 * MiB, 1, hotplug)), 0);
  EXPECT_EQ(memory_regions(), Regions{region(0, 32 * MiB, hotplug, 1)});
}

// Touching ranges with different flags are not compatible: two regions.
//   |+--none--++--hotplug--+|
TEST_P(RangeAddNode, add_node_adjacent_ranges_with_different_flags_stay_apart) {
  given({on_node(0, 16 * MiB, 1)});
  EXPECT_EQ(err(on_node(16 * MiB, 16 * MiB, 1, hotplug)), 0);
  EXPECT_EQ(memory_regions(),
            (Regions{region(0, 16 * MiB, 0, 1), region(16 * MiB, 16 * MiB, hotplug, 1)}));
}

// Different nodes keep touching ranges apart; without CONFIG_NUMA there are
// no nodes (every region is on node 0) and they merge.
TEST_P(RangeAddNode, add_node_adjacent_ranges_on_different_nodes_merge_only_without_numa) {
  given({on_node(0, 16 * MiB, 1)});
  EXPECT_EQ(err(on_node(16 * MiB, 16 * MiB, 2)), 0);
  if (build().numa) {
    EXPECT_EQ(memory_regions(),
              (Regions{region(0, 16 * MiB, 0, 1), region(16 * MiB, 16 * MiB, 0, 2)}));
  } else {
    EXPECT_EQ(memory_regions(), Regions{region(0, 32 * MiB)});
  }
}

// "Overlaps don't affect already existing regions": the overlapped part keeps
// its node and flags, only the part beyond it takes the new ones.
//   |+----nid1 hotplug----+          |
//   |          +------nid2 none------+|
TEST_P(RangeAddNode, add_node_overlapping_range_keeps_the_existing_region_attributes) {
  given({on_node(0, 32 * MiB, 1, hotplug)});
  EXPECT_EQ(err(on_node(16 * MiB, 32 * MiB, 2)), 0);
  EXPECT_EQ(memory_regions(),
            (Regions{region(0, 32 * MiB, hotplug, 1), region(32 * MiB, 16 * MiB, 0, 2)}));
  EXPECT_EQ(state().memory.total_size, 48 * MiB);
}

// A new range that fills the space below an existing region with different
// flags is inserted as asked, and memblock_add_range WARNs about the mismatch.
//   |        +--hotplug--+        |
//   |+-------------none----------+|  =>  none | hotplug | none
TEST_P(RangeAddNode, add_node_filling_below_a_region_with_other_flags_warns_and_keeps_it) {
  given({on_node(16 * MiB, 16 * MiB, 1, hotplug)});
  Outcome outcome = memblock().run(on_node(0, 48 * MiB, 1));
  EXPECT_EQ(outcome.status, Outcome::Status::completed);
  EXPECT_EQ(std::get<Errno>(outcome.value).value, 0);
  if (reports_kernel_messages) {
    ASSERT_EQ(outcome.events.size(), 1u) << render_outcome(outcome);
    EXPECT_EQ(outcome.events[0].kind, KernelEvent::Kind::warn);
    EXPECT_EQ(outcome.events[0].file, "memblock.c");
    EXPECT_NE(outcome.events[0].text.find("flags != rgn->flags"), std::string::npos);
  }
  EXPECT_EQ(memory_regions(),
            (Regions{region(0, 16 * MiB, 0, 1), region(16 * MiB, 16 * MiB, hotplug, 1),
                     region(32 * MiB, 16 * MiB, 0, 1)}));
}

MBFUZZ_EVERY_VARIANT(RangeAddNode);

// ---- memblock_remove --------------------------------------------------------

using RangeRemove = RangeTest;

// Removing the middle of a region splits it in two.
//   |+----------r----------+|  =>  |+--r1--+   hole   +--r2--+|
TEST_P(RangeRemove, remove_middle_splits_a_region_in_two) {
  given({Add{.base = 0, .size = 64 * MiB}});
  EXPECT_EQ(err(Remove{.base = 16 * MiB, .size = 16 * MiB}), 0);
  EXPECT_EQ(memory_regions(), (Regions{region(0, 16 * MiB), region(32 * MiB, 32 * MiB)}));
  EXPECT_EQ(state().memory.total_size, 48 * MiB);
}

// Both pieces of a split keep the region's node and flags.
TEST_P(RangeRemove, remove_middle_keeps_nid_and_flags_on_both_pieces) {
  given({on_node(0, 48 * MiB, 2, hotplug)});
  EXPECT_EQ(err(Remove{.base = 16 * MiB, .size = 16 * MiB}), 0);
  EXPECT_EQ(memory_regions(),
            (Regions{region(0, 16 * MiB, hotplug, 2), region(32 * MiB, 16 * MiB, hotplug, 2)}));
}

// A removal overlapping one edge trims the region at that edge.
TEST_P(RangeRemove, remove_overlapping_an_edge_trims_the_region) {
  given({Add{.base = 16 * MiB, .size = 32 * MiB}});  // [16M, 48M)
  EXPECT_EQ(err(Remove{.base = 0, .size = 24 * MiB}), 0);
  EXPECT_EQ(memory_regions(), Regions{region(24 * MiB, 24 * MiB)});
  EXPECT_EQ(err(Remove{.base = 40 * MiB, .size = 24 * MiB}), 0);
  EXPECT_EQ(memory_regions(), Regions{region(24 * MiB, 16 * MiB)});
  EXPECT_EQ(state().memory.total_size, 16 * MiB);
}

// One removal across several regions takes every covered part.
//   |+-r1-+   +-r2-+   +-r3-+|
//   |   ^--------remove--^   |
TEST_P(RangeRemove, remove_spanning_several_regions_removes_every_covered_part) {
  given({Add{.base = 0, .size = 16 * MiB}, Add{.base = 32 * MiB, .size = 16 * MiB},
         Add{.base = 64 * MiB, .size = 16 * MiB}});
  EXPECT_EQ(err(Remove{.base = 8 * MiB, .size = 64 * MiB}), 0);
  EXPECT_EQ(memory_regions(), (Regions{region(0, 8 * MiB), region(72 * MiB, 8 * MiB)}));
  EXPECT_EQ(state().memory.total_size, 16 * MiB);
}

// Removing all memory leaves only the empty dummy (cnt 1), on node
// MAX_NUMNODES with NUMA, and total_size 0.
TEST_P(RangeRemove, remove_everything_leaves_the_dummy_region) {
  given({Add{.base = 0, .size = 16 * MiB}, Add{.base = 32 * MiB, .size = 16 * MiB}});
  EXPECT_EQ(err(Remove{.base = 0, .size = 64 * MiB}), 0);
  EXPECT_EQ(memory_regions(), emptied());
  EXPECT_EQ(state().memory.cnt, 1u);
  EXPECT_EQ(state().memory.total_size, 0u);
}

// Removing a range holding no memory, or of size 0, succeeds and changes nothing.
TEST_P(RangeRemove, remove_of_no_memory_or_zero_size_changes_nothing) {
  given({Add{.base = 16 * MiB, .size = 16 * MiB}});
  const Snapshot before = state();
  EXPECT_EQ(err(Remove{.base = 64 * MiB, .size = 16 * MiB}), 0);
  EXPECT_EQ(err(Remove{.base = 20 * MiB, .size = 0}), 0);
  EXPECT_EQ(state(), before);
}

// A removal running past the top of the address space is capped, not wrapped:
// it removes [base, PHYS_ADDR_MAX) and leaves memory below base alone.
TEST_P(RangeRemove, remove_reaching_the_top_of_the_address_space_is_capped) {
  given({Add{.base = 16 * MiB, .size = 16 * MiB}});
  EXPECT_EQ(err(Remove{.base = 24 * MiB, .size = top()}), 0);
  EXPECT_EQ(memory_regions(), Regions{region(16 * MiB, 8 * MiB)});
}

MBFUZZ_EVERY_VARIANT(RangeRemove);

// ---- memblock_reserve -------------------------------------------------------

using RangeReserve = RangeTest;

// A reservation goes to memblock.reserved only (it needs no memory under it).
TEST_P(RangeReserve, reserve_records_the_range_in_reserved_only) {
  const Snapshot fresh = state();
  EXPECT_EQ(err(Reserve{.base = 16 * MiB, .size = 4 * MiB}), 0);
  EXPECT_EQ(reserved_regions(), Regions{reserved(16 * MiB, 4 * MiB)});
  EXPECT_EQ(state().reserved.total_size, 4 * MiB);
  EXPECT_EQ(state().memory, fresh.memory);
}

// Reservations merge like memory: touching and overlapping ones become one.
//   |+-a-++-b-+      |  then  |      +--c--+ overlapping b
TEST_P(RangeReserve, reserve_adjacent_and_overlapping_ranges_merge) {
  given({Reserve{.base = 16 * MiB, .size = 4 * MiB}});
  EXPECT_EQ(err(Reserve{.base = 20 * MiB, .size = 4 * MiB}), 0);
  EXPECT_EQ(reserved_regions(), Regions{reserved(16 * MiB, 8 * MiB)});
  EXPECT_EQ(err(Reserve{.base = 22 * MiB, .size = 4 * MiB}), 0);
  EXPECT_EQ(reserved_regions(), Regions{reserved(16 * MiB, 10 * MiB)});
  EXPECT_EQ(state().reserved.total_size, 10 * MiB);
}

TEST_P(RangeReserve, reserve_of_zero_size_is_a_noop_returning_zero) {
  const Snapshot fresh = state();
  EXPECT_EQ(err(Reserve{.base = 16 * MiB, .size = 0}), 0);
  EXPECT_EQ(state(), fresh);
}

MBFUZZ_EVERY_VARIANT(RangeReserve);

// ---- memblock_phys_free, memblock_free -------------------------------------

using RangeFree = RangeTest;

// Freeing a whole reservation empties reserved back to the dummy.
TEST_P(RangeFree, phys_free_of_a_whole_reservation_leaves_the_dummy) {
  given({Reserve{.base = 16 * MiB, .size = 4 * MiB}});
  EXPECT_EQ(err(PhysFree{.base = 16 * MiB, .size = 4 * MiB}), 0);
  EXPECT_EQ(reserved_regions(), emptied());
  EXPECT_EQ(state().reserved.total_size, 0u);
}

// Freeing the middle of a reservation splits it.
TEST_P(RangeFree, phys_free_of_the_middle_splits_a_reservation) {
  given({Reserve{.base = 16 * MiB, .size = 12 * MiB}});
  EXPECT_EQ(err(PhysFree{.base = 20 * MiB, .size = 4 * MiB}), 0);
  EXPECT_EQ(reserved_regions(),
            (Regions{reserved(16 * MiB, 4 * MiB), reserved(24 * MiB, 4 * MiB)}));
  EXPECT_EQ(state().reserved.total_size, 8 * MiB);
}

// Freeing only touches reserved: memory stays, and freeing what is not
// reserved (or size 0) succeeds without change.
TEST_P(RangeFree, phys_free_leaves_memory_alone_and_ignores_unreserved_ranges) {
  given({Add{.base = 0, .size = 64 * MiB}, Reserve{.base = 16 * MiB, .size = 4 * MiB}});
  const Snapshot before = state();
  EXPECT_EQ(err(PhysFree{.base = 32 * MiB, .size = 4 * MiB}), 0);
  EXPECT_EQ(err(PhysFree{.base = 16 * MiB, .size = 0}), 0);
  EXPECT_EQ(state(), before);
  EXPECT_EQ(err(PhysFree{.base = 16 * MiB, .size = 4 * MiB}), 0);
  EXPECT_EQ(state().memory, before.memory);
}

// memblock_free(ptr) frees the reservation at __pa(ptr).
TEST_P(RangeFree, free_by_pointer_releases_the_reservation_at_its_physical_address) {
  given({Reserve{.base = 16 * MiB, .size = 8 * MiB}});
  run(Free{.ptr = 16 * MiB, .size = 4 * MiB});
  EXPECT_EQ(reserved_regions(), Regions{reserved(20 * MiB, 4 * MiB)});
}

// A NULL pointer is a no-op, even with physical address 0 reserved; the
// pointer to physical address 0 is not NULL and frees it.
TEST_P(RangeFree, free_of_null_is_a_noop) {
  given({Reserve{.base = 0, .size = 4 * MiB}});
  const Snapshot before = state();
  run(Free{.ptr = std::nullopt, .size = 4 * MiB});
  EXPECT_EQ(state(), before);
  run(Free{.ptr = Phys{0}, .size = 4 * MiB});
  EXPECT_EQ(reserved_regions(), emptied());
}

MBFUZZ_EVERY_VARIANT(RangeFree);

// ---- hotplug and nomap flags --------------------------------------------------

using RangeFlag = RangeTest;

// Marking the middle isolates it: the region splits into three, and the size
// of memory does not change.
//   |+------------r------------+|  =>  |+-none-++-hotplug-++-none-+|
TEST_P(RangeFlag, mark_hotplug_on_the_middle_splits_a_region_into_three) {
  given({Add{.base = 0, .size = 48 * MiB}});
  EXPECT_EQ(err(MarkHotplug{.base = 16 * MiB, .size = 16 * MiB}), 0);
  EXPECT_EQ(memory_regions(), (Regions{region(0, 16 * MiB), region(16 * MiB, 16 * MiB, hotplug),
                                       region(32 * MiB, 16 * MiB)}));
  EXPECT_EQ(state().memory.total_size, 48 * MiB);
}

// Clearing the flag makes the pieces compatible again: they merge back.
TEST_P(RangeFlag, clear_hotplug_merges_the_pieces_back_into_one) {
  given({Add{.base = 0, .size = 48 * MiB}, MarkHotplug{.base = 16 * MiB, .size = 16 * MiB}});
  EXPECT_EQ(err(ClearHotplug{.base = 16 * MiB, .size = 16 * MiB}), 0);
  EXPECT_EQ(memory_regions(), Regions{region(0, 48 * MiB)});
}

// Marking the rest of a region with the flag its neighbour has merges them.
//   |+--none--++--hotplug--+|  => mark first half =>  |+-------hotplug-------+|
TEST_P(RangeFlag, mark_hotplug_next_to_a_hotplug_piece_merges_into_one) {
  given({Add{.base = 0, .size = 32 * MiB}, MarkHotplug{.base = 16 * MiB, .size = 16 * MiB}});
  EXPECT_EQ(err(MarkHotplug{.base = 0, .size = 16 * MiB}), 0);
  EXPECT_EQ(memory_regions(), Regions{region(0, 32 * MiB, hotplug)});
}

// Flags are set on existing memory only: the gap in the range stays a gap.
//   |+--r1--+        +--r2--+|
//   |    ^----mark-------^   |
TEST_P(RangeFlag, mark_hotplug_across_a_gap_flags_only_existing_memory) {
  given({Add{.base = 0, .size = 16 * MiB}, Add{.base = 32 * MiB, .size = 16 * MiB}});
  EXPECT_EQ(err(MarkHotplug{.base = 8 * MiB, .size = 32 * MiB}), 0);
  EXPECT_EQ(memory_regions(),
            (Regions{region(0, 8 * MiB), region(8 * MiB, 8 * MiB, hotplug),
                     region(32 * MiB, 8 * MiB, hotplug), region(40 * MiB, 8 * MiB)}));
  EXPECT_EQ(state().memory.total_size, 32 * MiB);
}

// NOMAP splits and clears back like HOTPLUG.
TEST_P(RangeFlag, mark_nomap_splits_and_clear_nomap_merges_back) {
  given({Add{.base = 0, .size = 32 * MiB}});
  EXPECT_EQ(err(MarkNomap{.base = 0, .size = 8 * MiB}), 0);
  EXPECT_EQ(memory_regions(), (Regions{region(0, 8 * MiB, nomap), region(8 * MiB, 24 * MiB)}));
  EXPECT_EQ(err(ClearNomap{.base = 0, .size = 8 * MiB}), 0);
  EXPECT_EQ(memory_regions(), Regions{region(0, 32 * MiB)});
}

// Flags are bits: marking NOMAP over part of a HOTPLUG piece gives both there.
//   |+--hotplug--+          |
//   |      +----nomap----+  |  =>  H | H+N | N | none
TEST_P(RangeFlag, mark_nomap_over_hotplug_combines_both_flags) {
  given({Add{.base = 0, .size = 32 * MiB}, MarkHotplug{.base = 0, .size = 16 * MiB}});
  EXPECT_EQ(err(MarkNomap{.base = 8 * MiB, .size = 16 * MiB}), 0);
  EXPECT_EQ(memory_regions(),
            (Regions{region(0, 8 * MiB, hotplug), region(8 * MiB, 8 * MiB, hotplug | nomap),
                     region(16 * MiB, 8 * MiB, nomap), region(24 * MiB, 8 * MiB)}));
}

// Clearing a flag that is not set, marking where there is no memory, and a
// size of 0 all succeed and change nothing; reserved is never touched.
TEST_P(RangeFlag, flag_changes_that_select_nothing_change_nothing) {
  given({Add{.base = 0, .size = 32 * MiB}, Reserve{.base = 64 * MiB, .size = 4 * MiB}});
  const Snapshot before = state();
  EXPECT_EQ(err(ClearHotplug{.base = 8 * MiB, .size = 8 * MiB}), 0);
  EXPECT_EQ(err(ClearNomap{.base = 8 * MiB, .size = 8 * MiB}), 0);
  EXPECT_EQ(err(MarkNomap{.base = 64 * MiB, .size = 4 * MiB}), 0);
  EXPECT_EQ(err(MarkHotplug{.base = 8 * MiB, .size = 0}), 0);
  EXPECT_EQ(state(), before);
}

MBFUZZ_EVERY_VARIANT(RangeFlag);

// ---- memblock_mark_mirror -----------------------------------------------------

using RangeMirror = RangeTest;

// Without kernelcore=mirror, marking mirror returns 0 and does nothing.
TEST_P(RangeMirror, mark_mirror_without_mirrored_kernelcore_changes_nothing) {
  given({Add{.base = 0, .size = 48 * MiB}});
  const Snapshot before = state();
  EXPECT_EQ(err(MarkMirror{.base = 16 * MiB, .size = 16 * MiB}), 0);
  EXPECT_EQ(state(), before);  // has_some_mirror included: still false
}

// With it, the range is flagged MIRROR (splitting the region) and the system
// is known to have some mirrored memory.
TEST_P(RangeMirror, mark_mirror_with_mirrored_kernelcore_flags_the_range) {
  given({Add{.base = 0, .size = 48 * MiB}, SetMirroredKernelcore{.on = true}});
  EXPECT_EQ(err(MarkMirror{.base = 16 * MiB, .size = 16 * MiB}), 0);
  EXPECT_EQ(memory_regions(), (Regions{region(0, 16 * MiB), region(16 * MiB, 16 * MiB, mirror),
                                       region(32 * MiB, 16 * MiB)}));
  EXPECT_TRUE(state().has_some_mirror);
}

// has_some_mirror is set by the call itself (memblock.c:946), before and
// regardless of whether any memory lies in the range.
TEST_P(RangeMirror, mark_mirror_sets_has_some_mirror_even_over_no_memory) {
  given({Add{.base = 0, .size = 16 * MiB}, SetMirroredKernelcore{.on = true}});
  EXPECT_EQ(err(MarkMirror{.base = 64 * MiB, .size = 16 * MiB}), 0);
  EXPECT_EQ(memory_regions(), Regions{region(0, 16 * MiB)});
  EXPECT_TRUE(state().has_some_mirror);
}

MBFUZZ_EVERY_VARIANT(RangeMirror);

// ---- memblock_set_node --------------------------------------------------------

using RangeSetNode = RangeTest;

// With NUMA the middle moves to node 2 (a split into three); without NUMA
// memblock_set_node is an empty function returning 0.
TEST_P(RangeSetNode, set_node_changes_nids_only_with_numa) {
  given({Add{.base = 0, .size = 48 * MiB}});
  const Snapshot before = state();
  EXPECT_EQ(err(SetNode{.base = 16 * MiB, .size = 16 * MiB, .nid = Nid{2}}), 0);
  if (build().numa) {
    EXPECT_EQ(memory_regions(), (Regions{region(0, 16 * MiB), region(16 * MiB, 16 * MiB, 0, 2),
                                         region(32 * MiB, 16 * MiB)}));
  } else {
    EXPECT_EQ(state(), before);
  }
}

MBFUZZ_EVERY_VARIANT(RangeSetNode);

using RangeSetNodeNuma = RangeTest;

// Setting the nid back to the neighbours' (MAX_NUMNODES, as memblock_add
// gave) makes the three pieces compatible again: one region.
TEST_P(RangeSetNodeNuma, set_node_back_to_the_neighbours_nid_merges_again) {
  given({Add{.base = 0, .size = 48 * MiB},
         SetNode{.base = 16 * MiB, .size = 16 * MiB, .nid = Nid{2}}});
  EXPECT_EQ(err(SetNode{.base = 16 * MiB, .size = 16 * MiB, .nid = Nid{build().max_numnodes}}), 0);
  EXPECT_EQ(memory_regions(), Regions{region(0, 48 * MiB)});
}

// One node over two touching regions of different nodes merges them.
//   |+--nid1--++--nid2--+|  =>  |+------nid3------+|
TEST_P(RangeSetNodeNuma, set_node_across_regions_of_two_nodes_merges_them) {
  given({on_node(0, 16 * MiB, 1), on_node(16 * MiB, 16 * MiB, 2)});
  EXPECT_EQ(err(SetNode{.base = 0, .size = 32 * MiB, .nid = Nid{3}}), 0);
  EXPECT_EQ(memory_regions(), Regions{region(0, 32 * MiB, 0, 3)});
}

// The nid changes; the flags of the moved piece stay.
TEST_P(RangeSetNodeNuma, set_node_keeps_the_flags) {
  given({on_node(0, 32 * MiB, 1, hotplug)});
  EXPECT_EQ(err(SetNode{.base = 16 * MiB, .size = 16 * MiB, .nid = Nid{2}}), 0);
  EXPECT_EQ(memory_regions(),
            (Regions{region(0, 16 * MiB, hotplug, 1), region(16 * MiB, 16 * MiB, hotplug, 2)}));
}

// On the reserved type it changes reserved regions and leaves memory alone.
TEST_P(RangeSetNodeNuma, set_node_on_reserved_changes_only_reserved) {
  given({Add{.base = 0, .size = 64 * MiB}, Reserve{.base = 16 * MiB, .size = 16 * MiB}});
  const Snapshot before = state();
  EXPECT_EQ(
      err(SetNode{.base = 16 * MiB, .size = 8 * MiB, .type = RegionType::reserved, .nid = Nid{1}}),
      0);
  EXPECT_EQ(reserved_regions(),
            (Regions{region(16 * MiB, 8 * MiB, 0, 1), reserved(24 * MiB, 8 * MiB)}));
  EXPECT_EQ(state().memory, before.memory);
}

// Size 0, or a range holding no region, selects nothing: no change, 0 returned.
TEST_P(RangeSetNodeNuma, set_node_of_zero_size_or_without_memory_changes_nothing) {
  given({Add{.base = 0, .size = 16 * MiB}});
  const Snapshot before = state();
  EXPECT_EQ(err(SetNode{.base = 4 * MiB, .size = 0, .nid = Nid{1}}), 0);
  EXPECT_EQ(err(SetNode{.base = 32 * MiB, .size = 16 * MiB, .nid = Nid{1}}), 0);
  EXPECT_EQ(state(), before);
}

MBFUZZ_NUMA_VARIANTS(RangeSetNodeNuma);

}  // namespace
}  // namespace mbfuzz::testing
