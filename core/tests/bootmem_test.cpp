// The bootmem bitmap allocator (core/kernel/bootmem.c) on hand-written
// scenarios: init_bootmem_node, the marking calls, allocation and the
// hand-off to the buddy allocator.
//
// Expected values come from the specification, docs/allocators.md section
// "bootmem's semantics", worked out by hand, never from running the code.
// Pages are 4 KiB; a node's bitmap has one bit per page, set = reserved.
#include <cstdint>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/bootmem.hpp"
#include "core/render.hpp"
#include "core/tests/memblock_fixture.hpp"

// Lets gtest print bootmem's state in failure messages.
namespace mbfuzz {
inline void PrintTo(const BootmemNode& n, std::ostream* os) {
  *os << "{nid " << n.nid << std::hex << " pfns [0x" << n.min_pfn << ", 0x" << n.low_pfn << ") map_pfn 0x"
      << n.map_pfn << " hint_idx 0x" << n.hint_idx << " last_end_off 0x" << n.last_end_off
      << (n.has_map ? "" : " handed over") << " reserved";
  for (auto [s, e] : n.reserved) *os << " [0x" << s << ", 0x" << e << ")";
  *os << std::dec << "}";
}
inline void PrintTo(const BootmemSnapshot& s, std::ostream* os) {
  *os << "{";
  for (const BootmemNode& n : s.nodes) {
    *os << " ";
    PrintTo(n, os);
  }
  *os << " }";
}
inline void PrintTo(const Allocation& a, std::ostream* os) {
  *os << render_outcome(Outcome{Outcome::Status::completed, a, {}});
}
}  // namespace mbfuzz

namespace mbfuzz::testing {
namespace {

constexpr int ebusy = 16;  // EBUSY

// Runs of reserved pages [start, end), in pfns, as the snapshot lists them.
using Runs = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

// The byte address of a pfn.
constexpr Phys pfn(std::uint64_t p) { return p * page; }

class BootmemTest : public ::testing::Test {
 protected:
  // bootmem's state is global: one ProductionBootmem at a time, fresh per test.
  void SetUp() override { bootmem_ = std::make_unique<ProductionBootmem>(); }
  void TearDown() override { bootmem_.reset(); }

  ProductionBootmem& bootmem() { return *bootmem_; }
  BootmemSnapshot state() const { return bootmem_->snapshot(); }

  // Runs an op and requires that it completed without any event.
  Outcome run(const Op& op) {
    Outcome outcome = bootmem_->run(op);
    EXPECT_EQ(outcome.status, Outcome::Status::completed) << format_op(op) << " " << render_outcome(outcome);
    EXPECT_TRUE(outcome.events.empty()) << format_op(op) << " " << render_outcome(outcome);
    return outcome;
  }

  // Set-up calls: each must complete cleanly, and an int return must be 0.
  void given(const std::vector<Op>& ops) {
    for (const Op& op : ops) {
      Outcome outcome = run(op);
      if (const auto* e = std::get_if<Errno>(&outcome.value)) {
        EXPECT_EQ(e->value, 0) << format_op(op);
      }
    }
  }

  // Requires that the op ended in BUG(): aborted, with one event of kind bug.
  void expect_bug(const Op& op) {
    Outcome outcome = bootmem_->run(op);
    EXPECT_EQ(outcome.status, Outcome::Status::aborted) << render_outcome(outcome);
    ASSERT_EQ(outcome.events.size(), 1u) << render_outcome(outcome);
    EXPECT_EQ(outcome.events[0].kind, KernelEvent::Kind::bug) << render_outcome(outcome);
  }

  std::uint64_t init(int nid, std::uint64_t start_pfn, std::uint64_t end_pfn, std::uint64_t map_pfn) {
    return std::get<Address>(
               run(InitBootmemNode{.nid = Nid{nid}, .start_pfn = start_pfn, .end_pfn = end_pfn, .map_pfn = map_pfn})
                   .value)
        .value;
  }
  int err(const Op& op) { return std::get<Errno>(run(op).value).value; }
  Allocation allocation(const Op& op) { return std::get<Allocation>(run(op).value); }
  // The address of an allocation that must succeed.
  Phys allocated(const Op& op) {
    Allocation a = allocation(op);
    EXPECT_EQ(a.kind, Allocation::Kind::memory) << format_op(op);
    return a.addr;
  }
  BuddyRelease released() { return std::get<BuddyRelease>(run(FreeAllBootmem{}).value); }

  // The i-th node of bdata_list.
  BootmemNode node(std::size_t i) const {
    BootmemSnapshot s = state();
    if (i >= s.nodes.size()) {
      ADD_FAILURE() << "no node " << i << " in bdata_list";
      return {};
    }
    return s.nodes[i];
  }
  Runs reserved(std::size_t i) const { return node(i).reserved; }

  // Node 0 over pfns [0x100, 0x200), its bitmap placed outside it at pfn 0x80.
  //
  //   pfn 0x100                                        0x200
  //       +================================================+
  //       |                   node 0                       |
  void one_node() { init(0, 0x100, 0x200, 0x80); }

  // The same with every page freed, as an arch does with the RAM it finds.
  void one_free_node() {
    one_node();
    given({FreeBootmem{.base = pfn(0x100), .size = pfn(0x100)}});
  }

  // Two contiguous nodes: node 0 [0x100, 0x200), node 1 [0x200, 0x300).
  void two_nodes() {
    init(0, 0x100, 0x200, 0x80);
    init(1, 0x200, 0x300, 0x81);
  }

  void two_free_nodes() {
    two_nodes();
    given({FreeBootmem{.base = pfn(0x100), .size = pfn(0x200)}});
  }

  // alloc_bootmem(size, align, goal, limit)
  static Op alloc(Phys size, Phys align, Phys goal = 0, Phys limit = 0) {
    return AllocBootmem{.size = size, .align = align, .goal = goal, .limit = limit};
  }

  // One order-0 block per pfn in [start, end).
  static std::vector<PageBlock> one_by_one(std::uint64_t start, std::uint64_t end) {
    std::vector<PageBlock> out;
    for (std::uint64_t p = start; p < end; ++p) out.push_back(PageBlock{p, 0});
    return out;
  }

 private:
  std::unique_ptr<ProductionBootmem> bootmem_;
};

std::vector<PageBlock> operator+(std::vector<PageBlock> a, const std::vector<PageBlock>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Blocks in short: consecutive order-0 pages as one run, for failure messages.
std::string summary(const std::vector<PageBlock>& blocks) {
  std::ostringstream os;
  os << std::hex;
  for (std::size_t i = 0; i < blocks.size();) {
    std::size_t j = i + 1;
    if (blocks[i].order == 0)
      while (j < blocks.size() && blocks[j].order == 0 && blocks[j].pfn == blocks[j - 1].pfn + 1) ++j;
    os << " 0x" << blocks[i].pfn;
    if (j - i > 1) os << "-0x" << blocks[j - 1].pfn;
    os << " o" << std::dec << blocks[i].order << std::hex << ",";
    i = j;
  }
  return os.str();
}

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
