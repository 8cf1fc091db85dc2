// bootmem on hand-written scenarios: init_bootmem_node and the marking
// calls (free_bootmem, reserve_bootmem, ranges across nodes).
#include "core/tests/bootmem_fixture.hpp"

namespace mbfuzz::testing {
namespace {

// ---- init_bootmem_node ----------------------------------------------------------------

// A new node starts with every page reserved, the hint and last_end_off at 0;
// the arch frees the RAM it finds afterwards.
TEST_F(BootmemTest, init_reserves_every_page_of_the_node) {
  one_node();
  EXPECT_EQ(state().nodes, (std::vector{BootmemNode{.nid = 0,
                                                    .min_pfn = 0x100,
                                                    .low_pfn = 0x200,
                                                    .map_pfn = 0x80,
                                                    .hint_idx = 0,
                                                    .last_end_off = 0,
                                                    .has_map = true,
                                                    .reserved = {{0x100, 0x200}}}}));
}

// init_bootmem_node returns the bitmap's size: ⌈pages / 8⌉ bytes rounded up to
// a multiple of sizeof(long), 8.
TEST_F(BootmemTest, init_returns_the_bitmap_size_in_whole_longs) {
  EXPECT_EQ(init(0, 0x100, 0x164, 0), 16u);      // 100 pages: 13 bytes -> 16
  EXPECT_EQ(init(1, 0x200, 0x201, 0), 8u);       // 1 page: 1 byte -> 8
  EXPECT_EQ(init(2, 0x300, 0x340, 0), 8u);       // 64 pages: 8 bytes
  EXPECT_EQ(init(3, 0x400, 0x441, 0), 16u);      // 65 pages: 9 bytes -> 16
  EXPECT_EQ(init(4, 0x1000, 0x9000, 0), 4096u);  // 0x8000 pages: 4096 bytes
}

// bdata_list is kept in ascending node_min_pfn, whatever order the nodes
// were initialised in.
TEST_F(BootmemTest, init_lists_nodes_in_ascending_start_whatever_the_init_order) {
  init(2, 0x300, 0x400, 0);
  init(0, 0x100, 0x200, 0);
  init(1, 0x200, 0x300, 0);
  const BootmemSnapshot s = state();
  ASSERT_EQ(s.nodes.size(), 3u);
  EXPECT_EQ(s.nodes[0].nid, 0);
  EXPECT_EQ(s.nodes[0].min_pfn, 0x100u);
  EXPECT_EQ(s.nodes[1].nid, 1);
  EXPECT_EQ(s.nodes[1].min_pfn, 0x200u);
  EXPECT_EQ(s.nodes[2].nid, 2);
  EXPECT_EQ(s.nodes[2].min_pfn, 0x300u);
}

// A node with the same start as one already in the list goes after it. An
// empty node [0x200, 0x200) overlaps nothing, so it may share node 1's start.
TEST_F(BootmemTest, init_puts_a_node_with_an_equal_start_after_the_one_already_there) {
  init(1, 0x200, 0x300, 0);
  init(0, 0x100, 0x200, 0);
  EXPECT_EQ(init(3, 0x200, 0x200, 0), 0u);  // no pages, no bitmap bytes
  const BootmemSnapshot s = state();
  ASSERT_EQ(s.nodes.size(), 3u);
  EXPECT_EQ(s.nodes[0].nid, 0);
  EXPECT_EQ(s.nodes[1].nid, 1);
  EXPECT_EQ(s.nodes[2].nid, 3);
}

// ---- free_bootmem --------------------------------------------------------------------

// free_bootmem frees only the pages wholly inside the range:
// [PFN_UP(addr), PFN_DOWN(addr + size)).
//
//   0x100000  0x100800                     0x103800
//   |         [================================)
//   +---------+---------+---------+---------+---------+
//   |  0x100  |  0x101  |  0x102  |  0x103  |  ...    |
//   reserved    freed     freed    reserved
TEST_F(BootmemTest, free_bootmem_rounds_inward_to_whole_pages) {
  one_node();
  given({FreeBootmem{.base = 0x100800, .size = 0x3000}});
  EXPECT_EQ(reserved(0), (Runs{{0x100, 0x101}, {0x103, 0x200}}));
}

// A free of less than a page that lies inside one page frees nothing:
// PFN_UP(addr) = 0x106 is above PFN_DOWN(addr + size) = 0x105.
//
//   0x105000  0x105100  0x105300        0x106000
//   +---------[=========)---------------+
//   |              pfn 0x105            |
TEST_F(BootmemTest, free_bootmem_of_less_than_a_page_inside_one_page_frees_nothing) {
  one_node();
  const BootmemSnapshot before = state();
  given({FreeBootmem{.base = 0x105100, .size = 0x200}});
  EXPECT_EQ(state(), before);
}

// The same in the page just below a node: PFN_UP(addr) = 0x100 is the
// node's first page and PFN_DOWN(addr + size) = 0xff, so the range
// [0x100, 0xff) begins in node 0 and holds no page. The specification
// frees nothing; 4.19's mark_bootmem_node() computes eidx = 0xff - 0x100,
// which wraps, and clears from 0x100 up to the first free page, 0x180,
// where it is BUG(): the known divergence bootmem-range-below-node-wraps
// (corpus/known/bootmem-range-below-node-wraps.trace has the specification's
// side).
//
//   0xff000   0xff800 0xff900   0x100000 = node 0's start        0x180000
//   +---------[=======)---------+================================+-----
//   |     pfn 0xff, in no node  | reserved: cleared up to 0x180  | free
TEST_F(BootmemTest, free_bootmem_of_less_than_a_page_just_below_a_node_wraps_as_4_19_did) {
  one_node();
  given({FreeBootmem{.base = pfn(0x180), .size = page}});
  expect_bug(FreeBootmem{.base = 0xff800, .size = 0x100});
  EXPECT_EQ(reserved(0), (Runs{{0x181, 0x200}}));
}

// Freeing a page that is already free is BUG(); the pages are cleared in
// ascending order, so those below the free page are clear when it fires.
//
//   pfn 0x100             0x104                0x108
//       +=====+=====+=====+-----+=====+=====+=====+=====...
//       |  r  |  r  |  r  |free |  r  |  r  |  r  |  r
//       [========= free_bootmem ===================)
//   after: 0x100..0x103 clear, BUG at 0x104, 0x105.. still reserved
TEST_F(BootmemTest, free_bootmem_of_a_free_page_is_bug_after_clearing_the_pages_below_it) {
  one_node();
  given({FreeBootmem{.base = pfn(0x104), .size = page}});
  expect_bug(FreeBootmem{.base = pfn(0x100), .size = 8 * page});
  EXPECT_EQ(reserved(0), (Runs{{0x105, 0x200}}));
}

// A free lowers the hint to the index of its first page, so the next
// allocation finds the hole it left below the last allocation.
//
//   pfn 0x100   0x102   0x104          0x108
//       +=======+=======+==============+------...
//       |     8 pages allocated        | free
//       after the free:
//       +=======+-------+==============+------...
//               ^ hint_idx 2: the 2-page allocation goes here
TEST_F(BootmemTest, free_bootmem_lowers_the_hint_and_the_next_allocation_fills_the_hole) {
  one_free_node();
  ASSERT_EQ(allocated(alloc(8 * page, page)), pfn(0x100));
  ASSERT_EQ(node(0).hint_idx, 8u);
  given({FreeBootmem{.base = pfn(0x102), .size = 2 * page}});
  EXPECT_EQ(node(0).hint_idx, 2u);
  EXPECT_EQ(allocated(alloc(2 * page, page)), pfn(0x102));
}

// free_bootmem_node marks its own node only: a range running past the
// node's end is BUG() before any page is touched.
//
//   pfn 0x100          0x1f0    0x200       0x210        0x300
//       +==============+========+===========+============+
//       |        node 0         |         node 1         |
//                      [=== free_bootmem_node(0) ===)
TEST_F(BootmemTest, free_bootmem_node_of_a_range_past_its_node_is_bug_and_frees_nothing) {
  two_nodes();
  const BootmemSnapshot before = state();
  expect_bug(FreeBootmemNode{.nid = Nid{0}, .base = pfn(0x1f0), .size = pfn(0x20)});
  EXPECT_EQ(state(), before);
}

// ---- reserve_bootmem ----------------------------------------------------------------------

// reserve_bootmem reserves every page the range touches:
// [PFN_DOWN(addr), PFN_UP(addr + size)).
//
//   0x104000  0x104800            0x105800  0x106000
//   +---------[===================)---------+
//   |  pfn 0x104        |  pfn 0x105        |
//   both reserved
TEST_F(BootmemTest, reserve_bootmem_rounds_outward_to_every_page_touched) {
  one_free_node();
  EXPECT_EQ(err(ReserveBootmem{.base = 0x104800, .size = page, .exclusive = false}), 0);
  EXPECT_EQ(reserved(0), (Runs{{0x104, 0x106}}));
}

// An exclusive reservation of a range with a reserved page in it is -EBUSY
// and takes nothing: the pages it took before meeting 0x105 are given back.
//
//   pfn 0x102 0x103 0x104 0x105 0x106 0x107 0x108
//       +-----+-----+-----+=====+-----+-----+
//       |     |     |     |  r  |     |     |
//       [====== reserve_bootmem, exclusive ==)
TEST_F(BootmemTest, exclusive_reserve_of_a_reserved_page_is_ebusy_and_takes_nothing) {
  one_free_node();
  given({ReserveBootmem{.base = pfn(0x105), .size = page, .exclusive = false}});
  const BootmemSnapshot before = state();
  EXPECT_EQ(err(ReserveBootmem{.base = pfn(0x102), .size = 6 * page, .exclusive = true}), -ebusy);
  EXPECT_EQ(state(), before);
}

// The pages a refused exclusive reservation took are given back by a free,
// which lowers the hint to the reservation's first index like any free.
//
//   pfn 0x100 0x101 0x102 0x103 0x104                      0x124
//       +-----+-----+-----+=====+===========================+----
//       |     |     |     |  r  |  32 pages allocated       |
//             [= exclusive =)                               ^ hint 0x24
//   after: hint_idx 1, the bitmap as before
TEST_F(BootmemTest, exclusive_reserve_refused_lowers_the_hint_to_its_start) {
  one_free_node();
  given({ReserveBootmem{.base = pfn(0x103), .size = page, .exclusive = false}});
  ASSERT_EQ(allocated(alloc(0x20 * page, page)), pfn(0x104));
  ASSERT_EQ(node(0).hint_idx, 0x24u);
  EXPECT_EQ(err(ReserveBootmem{.base = pfn(0x101), .size = 3 * page, .exclusive = true}), -ebusy);
  EXPECT_EQ(node(0).hint_idx, 1u);
  EXPECT_EQ(reserved(0), (Runs{{0x103, 0x124}}));
}

// Without BOOTMEM_EXCLUSIVE, reserving a reserved page is no conflict: the
// call returns 0 and every page of the range ends up reserved.
TEST_F(BootmemTest, non_exclusive_reserve_of_a_reserved_page_returns_0) {
  one_free_node();
  given({ReserveBootmem{.base = pfn(0x105), .size = page, .exclusive = false}});
  EXPECT_EQ(err(ReserveBootmem{.base = pfn(0x102), .size = 6 * page, .exclusive = false}), 0);
  EXPECT_EQ(reserved(0), (Runs{{0x102, 0x108}}));
}

// ---- ranges across nodes -------------------------------------------------------------------

// A range may run from one node into the next when the next begins exactly
// where the first ends: each node marks its part.
//
//   pfn 0x100          0x1f0    0x200    0x210        0x300
//       +==============+--------+--------+============+
//       |        node 0         |        node 1       |
//                      [=== free_bootmem ===)
TEST_F(BootmemTest, free_bootmem_across_two_contiguous_nodes_frees_pages_in_both) {
  two_nodes();
  given({FreeBootmem{.base = pfn(0x1f0), .size = pfn(0x20)}});
  EXPECT_EQ(reserved(0), (Runs{{0x100, 0x1f0}}));
  EXPECT_EQ(reserved(1), (Runs{{0x210, 0x300}}));
}

// A range that runs out of a node into a gap is BUG(); the node it reached
// first has been marked by then.
//
//   pfn 0x100          0x1f0    0x200        0x280        0x300
//       +==============+--------+            +============+
//       |        node 0         |    gap     |   node 1   |
//                      [=== free_bootmem ===)
TEST_F(BootmemTest, free_bootmem_running_into_a_gap_between_nodes_is_bug) {
  init(0, 0x100, 0x200, 0x80);
  init(1, 0x280, 0x300, 0x81);
  expect_bug(FreeBootmem{.base = pfn(0x1f0), .size = pfn(0x20)});
  EXPECT_EQ(reserved(0), (Runs{{0x100, 0x1f0}}));
  EXPECT_EQ(reserved(1), (Runs{{0x280, 0x300}}));
}

// A range must begin inside a node: one beginning in the gap is BUG(), and
// node 1, where it would have run on, is untouched.
//
//   pfn 0x100                   0x200   0x270 0x280 0x290   0x300
//       +=======================+       [=====|=====)       |
//       |        node 0         |  gap        |   node 1    |
TEST_F(BootmemTest, free_bootmem_beginning_in_no_node_is_bug) {
  init(0, 0x100, 0x200, 0x80);
  init(1, 0x280, 0x300, 0x81);
  const BootmemSnapshot before = state();
  expect_bug(FreeBootmem{.base = pfn(0x270), .size = pfn(0x20)});
  EXPECT_EQ(state(), before);
}

// A range that runs past the last node is BUG() after the node it reached
// was marked.
//
//   pfn 0x100          0x1f0    0x200    0x210
//       +==============+--------+
//       |        node 0         |  (no node)
//                      [=== free_bootmem ===)
TEST_F(BootmemTest, free_bootmem_running_past_the_last_node_is_bug_after_marking_it) {
  one_node();
  expect_bug(FreeBootmem{.base = pfn(0x1f0), .size = pfn(0x20)});
  EXPECT_EQ(reserved(0), (Runs{{0x100, 0x1f0}}));
}

// An exclusive reservation refused in node 1 gives back what node 0 took.
//
//   pfn 0x1f0        0x200 0x201 0x202 0x203      0x208
//       +------------+-----+-----+=====+----------+
//       | node 0     | node 1    |  r  |          |
//       [============= reserve_bootmem, exclusive =)
//   after: both nodes as before, -EBUSY
TEST_F(BootmemTest, exclusive_reserve_failing_in_the_second_node_gives_back_the_first_nodes_pages) {
  two_free_nodes();
  given({ReserveBootmem{.base = pfn(0x202), .size = page, .exclusive = false}});
  const BootmemSnapshot before = state();
  EXPECT_EQ(err(ReserveBootmem{.base = pfn(0x1f0), .size = pfn(0x18), .exclusive = true}), -ebusy);
  EXPECT_EQ(state(), before);
  EXPECT_EQ(reserved(0), Runs{});
  EXPECT_EQ(reserved(1), (Runs{{0x202, 0x203}}));
}

}  // namespace
}  // namespace mbfuzz::testing
