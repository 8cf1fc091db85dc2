// bootmem on hand-written scenarios: free_all_bootmem, the hand-off to the
// buddy allocator.
#include "core/tests/bootmem_fixture.hpp"

namespace mbfuzz::testing {
namespace {

// ---- free_all_bootmem ----------------------------------------------------------------------

// Every free page goes over: a free 64-page block at a multiple of 64 as
// one order-6 block, any other free page as order 0, in ascending order;
// then the bitmap's one page (32 bytes for 256 pages) at map_pfn.
//
//   pfn 0x100 0x101      0x140     0x150 0x151      0x180      0x1c0      0x200
//       +=====+----------+---------+=====+----------+----------+----------+
//       |  r  | 63 x o0  | 16 x o0 |  r  | 47 x o0  |    o6    |    o6    |
//       bitmap (map_pfn 0x100, reserved by the arch)
TEST_F(BootmemTest, free_all_bootmem_hands_over_free_pages_in_64_page_blocks_then_the_bitmap) {
  init(0, 0x100, 0x200, 0x100);
  given({FreeBootmem{.base = pfn(0x100), .size = pfn(0x100)},
         ReserveBootmem{.base = pfn(0x100), .size = 32, .exclusive = false},
         ReserveBootmem{.base = pfn(0x150), .size = page, .exclusive = false}});
  const BuddyRelease r = released();
  const std::vector<PageBlock> want = one_by_one(0x101, 0x150) + one_by_one(0x151, 0x180) +
                                     std::vector{PageBlock{0x180, 6}, PageBlock{0x1c0, 6}, PageBlock{0x100, 0}};
  EXPECT_EQ(r.blocks, want) << "got" << summary(r.blocks) << "\nwant" << summary(want);
  EXPECT_EQ(r.totalram_pages, 63 + 16 + 47 + 64 + 64 + 1);
}

// A bitmap longer than a page goes over page by page: 0x8040 pages need
// 4104 bytes, two pages. The node itself has no free page.
TEST_F(BootmemTest, free_all_bootmem_hands_over_every_page_of_a_bitmap_longer_than_a_page) {
  EXPECT_EQ(init(0, 0x10000, 0x18040, 0x9000), 4104u);
  const BuddyRelease r = released();
  EXPECT_EQ(r.blocks, (std::vector{PageBlock{0x9000, 0}, PageBlock{0x9001, 0}}));
  EXPECT_EQ(r.totalram_pages, 2);
}

// A node whose start is not a multiple of 64. The specification hands
// every free page over: 0x120..0x13f and 0x180..0x1af alone, 0x140 as order
// 6. 4.19's free_all_bootmem_core() reads the bitmap a word at a time from
// 0x140 on, each read straddling two words (the node starts 32 pages into
// a word); the last read, at 0x180 with 48 < 64 pages left, takes only the
// first word's 32 pages, and 0x1a0..0x1af never go over: the known
// divergence bootmem-free-all-skips-node-tail
// (corpus/known/bootmem-free-all-skips-node-tail.trace).
//
//   pfn 0x120       0x140                 0x180      0x1a0   0x1b0
//       +-----------+---------------------+----------+-------+
//       | 32 x o0   |         o6          | 32 x o0  | lost  |
//   node 0 [0x120, 0x1b0), all free; bitmap (24 bytes) at 0x50
TEST_F(BootmemTest, free_all_bootmem_skips_the_tail_of_a_node_not_64_aligned_as_4_19_did) {
  EXPECT_EQ(init(0, 0x120, 0x1b0, 0x50), 24u);
  given({FreeBootmem{.base = pfn(0x120), .size = pfn(0x90)}});
  const BuddyRelease r = released();
  const std::vector<PageBlock> want = one_by_one(0x120, 0x140) + std::vector{PageBlock{0x140, 6}} +
                                     one_by_one(0x180, 0x1a0) + std::vector{PageBlock{0x50, 0}};
  EXPECT_EQ(r.blocks, want) << "got" << summary(r.blocks) << "\nwant" << summary(want);
  EXPECT_EQ(r.totalram_pages, 32 + 64 + 32 + 1);
}

// After free_all_bootmem the buddy allocator owns the pages and the bitmaps
// are gone: every later op is refused without running.
TEST_F(BootmemTest, free_all_bootmem_refuses_every_later_op) {
  one_free_node();
  released();
  const BootmemSnapshot after = state();
  ASSERT_EQ(after.nodes.size(), 1u);
  EXPECT_FALSE(after.nodes[0].has_map);
  const std::vector<Op> later = {
      InitBootmemNode{.nid = Nid{1}, .start_pfn = 0x200, .end_pfn = 0x300, .map_pfn = 0x81},
      FreeBootmem{.base = pfn(0x100), .size = page},
      FreeBootmemNode{.nid = Nid{0}, .base = pfn(0x100), .size = page},
      ReserveBootmem{.base = pfn(0x100), .size = page, .exclusive = true},
      ReserveBootmemNode{.nid = Nid{0}, .base = pfn(0x100), .size = page, .exclusive = false},
      alloc(page, page),
      AllocBootmemNode{.nid = Nid{0}, .size = page, .align = page},
      FreeAllBootmem{}};
  for (const Op& op : later) {
    SCOPED_TRACE(op_name(op));
    Outcome outcome = bootmem().run(op);
    EXPECT_EQ(outcome.status, Outcome::Status::refused);
    EXPECT_TRUE(outcome.events.empty());
    EXPECT_EQ(state(), after);
  }
}

}  // namespace
}  // namespace mbfuzz::testing
