// bootmem on hand-written scenarios: allocation (goal, limit, alignment,
// the hint, packing, which node).
#include "core/tests/bootmem_fixture.hpp"

namespace mbfuzz::testing {
namespace {

// ---- allocation ------------------------------------------------------------------------

// With no hint and no goal, the lowest fit from the node's start upward wins:
// 0x102 is free but alone, the first two free pages in a row are 0x104-0x105.
//
//   pfn 0x100 0x101 0x102 0x103 0x104 0x105 0x106
//       +=====+=====+-----+=====+-----+-----+-----
//       |  r  |  r  |     |  r  |  allocated|
TEST_F(BootmemTest, alloc_bootmem_takes_the_first_fit_from_the_node_start_upward) {
  one_free_node();
  given({ReserveBootmem{.base = pfn(0x100), .size = 2 * page, .exclusive = false},
         ReserveBootmem{.base = pfn(0x103), .size = page, .exclusive = false}});
  EXPECT_EQ(allocated(alloc(2 * page, page)), pfn(0x104));
}

// An alignment of 4 pages gives a pfn that is a multiple of 4, counted from
// pfn 0, not from the node's start 0x101 (which would give 0x105).
TEST_F(BootmemTest, alloc_bootmem_aligns_to_absolute_pfns_not_to_the_node_start) {
  init(0, 0x101, 0x200, 0x80);
  given({FreeBootmem{.base = pfn(0x101), .size = pfn(0xff)}});
  EXPECT_EQ(allocated(alloc(page, 4 * page)), pfn(0x104));
}

// A goal inside the node's window is where the search starts, its page
// rounded up to the alignment: goal 0x181000, align 4 pages -> 0x184.
TEST_F(BootmemTest, alloc_bootmem_starts_at_the_goal_rounded_up_to_the_alignment) {
  one_free_node();
  EXPECT_EQ(allocated(alloc(page, 4 * page, 0x181000)), pfn(0x184));
}

// Nothing fits at or above the goal: the goal is dropped and the search
// runs again from the node's start.
//
//   pfn 0x100                0x180                0x200
//       +--------------------+====================+
//       | free               | reserved           |
//       ^ allocated          ^ goal
TEST_F(BootmemTest, alloc_bootmem_drops_the_goal_when_nothing_fits_above_it) {
  one_free_node();
  given({ReserveBootmem{.base = pfn(0x180), .size = pfn(0x80), .exclusive = false}});
  EXPECT_EQ(allocated(alloc(page, page, pfn(0x180))), pfn(0x100));
}

// The limit lowers the window's top to limit >> PAGE_SHIFT: with only
// [0x180, 0x200) free and the limit at 0x180000 there is no fit. Without
// the limit the same call is served at 0x180.
//
//   pfn 0x100                0x180                0x200
//       +====================+--------------------+
//       | reserved           | free               |
//                            ^ limit
TEST_F(BootmemTest, alloc_bootmem_never_allocates_at_or_above_the_limit) {
  one_free_node();
  given({ReserveBootmem{.base = pfn(0x100), .size = pfn(0x80), .exclusive = false}});
  EXPECT_EQ(allocation(alloc(page, page, 0, pfn(0x180))), Allocation{});
  EXPECT_EQ(allocated(alloc(page, page, 0, 0)), pfn(0x180));
}

// alloc_bootmem skips a node that ends at or below the goal's page: node 0
// would otherwise answer from its own start, 0x100.
TEST_F(BootmemTest, alloc_bootmem_skips_nodes_ending_below_the_goal) {
  two_free_nodes();
  EXPECT_EQ(allocated(alloc(page, page, pfn(0x250))), pfn(0x250));
}

// size 0 is BUG().
TEST_F(BootmemTest, alloc_bootmem_of_size_0_is_bug) {
  one_free_node();
  expect_bug(alloc(0, 8));
}

// An alignment that is not a power of two is BUG().
TEST_F(BootmemTest, alloc_bootmem_with_align_not_a_power_of_two_is_bug) {
  one_free_node();
  expect_bug(alloc(page, 24));
}

// align 0 is outside the specification: the run ends with a simulation
// limit event, not with an answer.
TEST_F(BootmemTest, alloc_bootmem_with_align_0_is_outside_the_specification) {
  one_free_node();
  Outcome outcome = bootmem().run(alloc(page, 0));
  EXPECT_EQ(outcome.status, Outcome::Status::aborted) << render_outcome(outcome);
  ASSERT_EQ(outcome.events.size(), 1u) << render_outcome(outcome);
  EXPECT_EQ(outcome.events[0].kind, KernelEvent::Kind::limit);
}

// A limit that the goal already passes (goal + size > limit) is BUG() in
// alloc_bootmem.
TEST_F(BootmemTest, alloc_bootmem_with_goal_plus_size_past_the_limit_is_bug) {
  one_free_node();
  expect_bug(alloc(page, page, pfn(0x180), pfn(0x180)));
}

// The search starts at the hint, where the last allocation ended, before the
// node's start: 0x100 is free, but the next page goes at 0x181.
//
//   pfn 0x100                0x180 0x181                0x200
//       +--------------------+=====+--------------------+
//       | free               |  a  | b                  |
//                                  ^ hint
TEST_F(BootmemTest, alloc_bootmem_searches_from_where_the_last_allocation_ended) {
  one_free_node();
  ASSERT_EQ(allocated(alloc(page, page, pfn(0x180))), pfn(0x180));
  EXPECT_EQ(node(0).hint_idx, 0x81u);
  EXPECT_EQ(allocated(alloc(page, page)), pfn(0x181));
}

// When nothing fits at or above the hint, the search runs again from the
// start.
//
//   pfn 0x100                0x180 0x181                0x200
//       +--------------------+=====+====================+
//       | b                  |  a  | reserved           |
//                                  ^ hint
TEST_F(BootmemTest, alloc_bootmem_falls_back_to_the_start_when_nothing_fits_above_the_hint) {
  one_free_node();
  ASSERT_EQ(allocated(alloc(page, page, pfn(0x180))), pfn(0x180));
  given({ReserveBootmem{.base = pfn(0x181), .size = pfn(0x7f), .exclusive = false}});
  EXPECT_EQ(allocated(alloc(page, page)), pfn(0x100));
}

// An allocation that ended inside a page is followed, when the next fit is
// the page just after, by one packed behind it in the same page: 100 bytes
// rounded up to align 8 is 104.
//
//   0x100000    0x100064 0x100068  0x1000cc          0x101000
//   +===========+--------+=========+-----------------+
//   |  a (100)  |  pad   | b (100) |                 |
TEST_F(BootmemTest, alloc_bootmem_packs_small_allocations_into_the_page_of_the_last_one) {
  one_free_node();
  const Phys a = allocated(alloc(100, 8));
  EXPECT_EQ(a, pfn(0x100));
  EXPECT_EQ(allocated(alloc(100, 8)), a + 104);
  const BootmemNode n = node(0);
  EXPECT_EQ(n.reserved, (Runs{{0x100, 0x101}}));
  EXPECT_EQ(n.last_end_off, 204u);
  EXPECT_EQ(n.hint_idx, 1u);
}

// Packing needs the fit to be the page just after the one the last
// allocation ended in: with 0x101 reserved the fit is 0x102, and b gets a
// page of its own.
//
//   pfn 0x100      0x101   0x102
//       +==a==-----+=======+==b==-----+
//       |          |   r   |          |
TEST_F(BootmemTest, alloc_bootmem_packs_only_into_the_page_just_below_the_fit) {
  one_free_node();
  given({ReserveBootmem{.base = pfn(0x101), .size = page, .exclusive = false}});
  ASSERT_EQ(allocated(alloc(100, 8)), pfn(0x100));
  EXPECT_EQ(allocated(alloc(100, 8)), pfn(0x102));
}

// An allocation is memory at the block's address, zeroed.
TEST_F(BootmemTest, alloc_bootmem_returns_zeroed_memory) {
  one_free_node();
  EXPECT_EQ(allocation(alloc(0x1800, page)), (Allocation{Allocation::Kind::memory, pfn(0x100), true}));
}

// The block's pages become reserved, last_end_off its end (from the node's
// start) and the hint the first page after it.
//
//   pfn 0x100    0x101    0x102
//       +========+====----+--------
//       |  0x1800 bytes   |
//                         ^ hint_idx 2
TEST_F(BootmemTest, alloc_bootmem_reserves_the_block_and_records_where_it_ended) {
  one_free_node();
  ASSERT_EQ(allocated(alloc(0x1800, page)), pfn(0x100));
  const BootmemNode n = node(0);
  EXPECT_EQ(n.reserved, (Runs{{0x100, 0x102}}));
  EXPECT_EQ(n.last_end_off, 0x1800u);
  EXPECT_EQ(n.hint_idx, 2u);
}

// An allocation that finds nothing returns NULL, without a BUG.
TEST_F(BootmemTest, alloc_bootmem_that_finds_nothing_returns_null) {
  one_node();
  EXPECT_EQ(allocation(alloc(page, page)), Allocation{});
}

// alloc_bootmem_node tries its own node before the list: node 1 answers
// although node 0 comes first.
TEST_F(BootmemTest, alloc_bootmem_node_takes_its_own_node_first) {
  two_free_nodes();
  EXPECT_EQ(allocated(AllocBootmemNode{.nid = Nid{1}, .size = page, .align = page}), pfn(0x200));
}

// When its node has nothing, alloc_bootmem_node takes any node.
TEST_F(BootmemTest, alloc_bootmem_node_falls_back_to_any_node) {
  two_nodes();
  given({FreeBootmem{.base = pfn(0x100), .size = pfn(0x100)}});  // node 0 only; node 1 all reserved
  EXPECT_EQ(allocated(AllocBootmemNode{.nid = Nid{1}, .size = page, .align = page}), pfn(0x100));
}

// A node that was never initialised has no bitmap and gives nothing: the
// other nodes answer.
TEST_F(BootmemTest, alloc_bootmem_node_of_a_node_never_initialised_takes_any_node) {
  one_free_node();
  EXPECT_EQ(allocated(AllocBootmemNode{.nid = Nid{3}, .size = page, .align = page}), pfn(0x100));
}

// alloc_bootmem_node drops a limit the goal already passes instead of
// BUG()ing, and keeps the goal.
TEST_F(BootmemTest, alloc_bootmem_node_drops_a_limit_the_goal_already_passes) {
  one_free_node();
  EXPECT_EQ(allocated(AllocBootmemNode{.nid = Nid{0}, .size = page, .align = page, .goal = pfn(0x180),
                                       .limit = pfn(0x180)}),
            pfn(0x180));
}

}  // namespace
}  // namespace mbfuzz::testing
