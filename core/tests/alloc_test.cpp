// The allocators: memblock_phys_alloc*, memblock_alloc_range_nid and the
// virtual memblock_alloc* family. Where a claim holds for a whole family the
// test runs every member of it on a fresh memblock, so each allocator proves
// the claim on its own.
#include <optional>
#include <string>
#include <vector>

#include "core/tests/memblock_fixture.hpp"
#include "core/trace.hpp"

namespace mbfuzz::testing {
namespace {

constexpr Limit anywhere{Limit::anywhere};
constexpr Limit accessible{Limit::accessible};
constexpr Nid any_node{Nid::no_node};

// Every allocator asked for `size` bytes aligned to `align` and nothing else:
// from address 0, up to MEMBLOCK_ALLOC_ACCESSIBLE (alloc_low: up to
// ARCH_LOW_ADDRESS_LIMIT), on any node.
std::vector<Op> every_allocator(Phys size, Phys align) {
  return {
      PhysAlloc{.size = size, .align = align},
      PhysAllocRange{.size = size, .align = align, .start = 0, .end = accessible},
      PhysAllocTryNid{.size = size, .align = align, .nid = any_node},
      AllocRangeNid{.size = size,
                    .align = align,
                    .start = 0,
                    .end = accessible,
                    .nid = any_node,
                    .exact_nid = false},
      Alloc{.size = size, .align = align},
      AllocRaw{.size = size, .align = align},
      AllocFrom{.size = size, .align = align, .min = 0},
      AllocLow{.size = size, .align = align},
      AllocNode{.size = size, .align = align, .nid = any_node},
      AllocTryNid{.size = size, .align = align, .min = 0, .max = accessible, .nid = any_node},
      AllocTryNidRaw{.size = size, .align = align, .min = 0, .max = accessible, .nid = any_node},
      AllocExactNidRaw{.size = size, .align = align, .min = 0, .max = accessible, .nid = any_node},
  };
}

// memblock_phys_alloc* and memblock_alloc_range_nid: they return an address.
bool is_physical(const Op& op) {
  return std::holds_alternative<PhysAlloc>(op) || std::holds_alternative<PhysAllocRange>(op) ||
         std::holds_alternative<PhysAllocTryNid>(op) || std::holds_alternative<AllocRangeNid>(op);
}

// The allocators bounded by MEMBLOCK_ALLOC_ACCESSIBLE: all but alloc_low.
std::vector<Op> accessible_allocators(Phys size, Phys align) {
  std::vector<Op> out;
  for (const Op& op : every_allocator(size, align))
    if (!std::holds_alternative<AllocLow>(op)) out.push_back(op);
  return out;
}

// The virtual allocators that take a lower bound, asked for memory from `min` up.
std::vector<Op> min_allocators(Phys size, Phys align, Phys min) {
  return {
      AllocFrom{.size = size, .align = align, .min = min},
      AllocTryNid{.size = size, .align = align, .min = min, .max = accessible, .nid = any_node},
      AllocTryNidRaw{.size = size, .align = align, .min = min, .max = accessible, .nid = any_node},
      AllocExactNidRaw{
          .size = size, .align = align, .min = min, .max = accessible, .nid = any_node},
  };
}

// The allocators that take a node, asked for node `nid`; exact ones last.
std::vector<Op> node_allocators(Phys size, Phys align, int nid, bool exact) {
  if (exact)
    return {
        AllocRangeNid{.size = size,
                      .align = align,
                      .start = 0,
                      .end = accessible,
                      .nid = Nid{nid},
                      .exact_nid = true},
        AllocExactNidRaw{
            .size = size, .align = align, .min = 0, .max = accessible, .nid = Nid{nid}},
    };
  return {
      PhysAllocTryNid{.size = size, .align = align, .nid = Nid{nid}},
      AllocRangeNid{.size = size,
                    .align = align,
                    .start = 0,
                    .end = accessible,
                    .nid = Nid{nid},
                    .exact_nid = false},
      AllocNode{.size = size, .align = align, .nid = Nid{nid}},
      AllocTryNid{.size = size, .align = align, .min = 0, .max = accessible, .nid = Nid{nid}},
      AllocTryNidRaw{.size = size, .align = align, .min = 0, .max = accessible, .nid = Nid{nid}},
  };
}

class AllocTest : public MemblockTest {
 protected:
  // Runs an allocator: the physical address it returned, 0 for 0 or NULL.
  Phys allocated(const Op& op) {
    Outcome outcome = run(op);
    if (const auto* a = std::get_if<Address>(&outcome.value)) return a->value;
    const auto& allocation = std::get<Allocation>(outcome.value);
    EXPECT_NE(allocation.kind, Allocation::Kind::slab);
    if (allocation.kind == Allocation::Kind::null) return 0;
    EXPECT_NE(allocation.addr, 0u) << "a pointer to physical address 0";
    return allocation.addr;
  }

  // For each allocator, on a fresh memblock prepared by `setup`: it returns
  // `addr` and memblock.reserved ends up as `reserved_after`.
  void expect_each(const std::vector<Op>& allocators, const std::vector<Op>& setup, Phys addr,
                   const std::vector<Region>& reserved_after) {
    for (const Op& op : allocators) {
      SCOPED_TRACE(format_op(op));
      memblock().reset();
      given(setup);
      EXPECT_EQ(allocated(op), addr);
      EXPECT_EQ(reserved_regions(), reserved_after);
    }
  }

  // For each allocator, on a fresh memblock prepared by `setup`: it fails
  // (0 or NULL) and leaves every piece of state as it was.
  void expect_each_fails(const std::vector<Op>& allocators, const std::vector<Op>& setup) {
    for (const Op& op : allocators) {
      SCOPED_TRACE(format_op(op));
      memblock().reset();
      given(setup);
      Snapshot before = state();
      Outcome outcome = run(op);
      if (const auto* a = std::get_if<Address>(&outcome.value)) {
        EXPECT_EQ(a->value, 0u);
      } else {
        EXPECT_EQ(std::get<Allocation>(outcome.value).kind, Allocation::Kind::null);
      }
      EXPECT_EQ(state(), before);
    }
  }
};

// Top-down (the default) picks the highest address at which the block, aligned,
// still fits below the end of the free range.
//
//   16M                                                      32M
//    +-------------------------------------+-------+----+----+
//    |                 free                | new   |    | r  |
//    +-------------------------------------+-------+----+----+
//                                          ^ 32M - 64K: 32M - 2K - 0x1900 rounded down to 64K
TEST_P(AllocTest, top_down_alloc_returns_highest_aligned_fit) {
  const Phys top_reserved = 32 * MiB - 2 * KiB;
  expect_each(
      every_allocator(0x1900, 64 * KiB),
      {Add{.base = 16 * MiB, .size = 16 * MiB}, Reserve{.base = top_reserved, .size = 2 * KiB}},
      32 * MiB - 64 * KiB,
      {reserved(32 * MiB - 64 * KiB, 0x1900), reserved(top_reserved, 2 * KiB)});
}

// SetBottomUp{true}: the lowest aligned address at which the block fits.
//
//   16M                                                      32M
//    +--+----+-------+-----------------------------------------+
//    |r |    | new   |                  free                   |
//    +--+----+-------+-----------------------------------------+
//            ^ 16M + 64K: 16M + 2K rounded up to 64K
TEST_P(AllocTest, bottom_up_alloc_returns_lowest_aligned_fit) {
  expect_each(every_allocator(0x1900, 64 * KiB),
              {SetBottomUp{.enable = true}, Add{.base = 16 * MiB, .size = 16 * MiB},
               Reserve{.base = 16 * MiB, .size = 2 * KiB}},
              16 * MiB + 64 * KiB,
              {reserved(16 * MiB, 2 * KiB), reserved(16 * MiB + 64 * KiB, 0x1900)});
}

// memblock_find_in_range_node raises start to PAGE_SIZE: bottom-up from
// memory at 0 starts at the second page, even for a small alignment.
//
//   0     4K                16K
//   +-----+-----+-----------+
//   | pg0 | new |           |
//   +-----+-----+-----------+
TEST_P(AllocTest, first_page_is_never_returned_bottom_up) {
  expect_each(every_allocator(0x100, 0x40),
              {SetBottomUp{.enable = true}, Add{.base = 0, .size = 16 * KiB}}, page,
              {reserved(page, 0x100)});
}

// Nor top-down: when the first page is the only memory, allocation fails.
TEST_P(AllocTest, first_page_is_never_returned_even_when_it_is_the_only_memory) {
  expect_each_fails(every_allocator(0x100, 0x40), {Add{.base = 0, .size = page}});
}

// MEMBLOCK_ALLOC_ACCESSIBLE means "below memblock.current_limit".
//
//   16M               24M = current_limit       32M
//    +------------+----+-------------------------+
//    |            |new |  beyond the limit       |
//    +------------+----+-------------------------+
TEST_P(AllocTest, current_limit_bounds_accessible_allocations) {
  expect_each(accessible_allocators(0x1000, 0x1000),
              {Add{.base = 16 * MiB, .size = 16 * MiB}, SetCurrentLimit{.limit = Limit{24 * MiB}}},
              24 * MiB - 0x1000, {reserved(24 * MiB - 0x1000, 0x1000)});
}

// The limit applies only "if @end == MEMBLOCK_ALLOC_ACCESSIBLE"
// (memblock_alloc_range_nid): an explicit end, or ANYWHERE, goes past it.
TEST_P(AllocTest, current_limit_does_not_bound_an_explicit_end) {
  const std::vector<Op> setup = {Add{.base = 16 * MiB, .size = 16 * MiB},
                                 SetCurrentLimit{.limit = Limit{24 * MiB}}};
  expect_each({PhysAllocRange{.size = 0x1000, .align = 0x1000, .start = 0, .end = anywhere},
               AllocRangeNid{.size = 0x1000,
                             .align = 0x1000,
                             .start = 0,
                             .end = anywhere,
                             .nid = any_node,
                             .exact_nid = false}},
              setup, 32 * MiB - 0x1000, {reserved(32 * MiB - 0x1000, 0x1000)});
  expect_each({PhysAllocRange{.size = 0x1000, .align = 0x1000, .start = 0, .end = Limit{28 * MiB}}},
              setup, 28 * MiB - 0x1000, {reserved(28 * MiB - 0x1000, 0x1000)});
}

// memblock_alloc_low is bounded by ARCH_LOW_ADDRESS_LIMIT (0xffffffff). Like
// every memblock end it is exclusive, so the block must end at or below
// 0xffffffff: the highest page-aligned fit is 0xffffe000. memblock_alloc_raw,
// unbounded, takes the top of memory (64-bit only: with a 32-bit phys_addr_t
// memblock_add caps the memory at PHYS_ADDR_MAX == 0xffffffff).
//
//   3G                        0xffffe000  4G                   5G
//    +--------------------------+-----+---+---------------------+
//    |                          | low |   |              | raw  |
//    +--------------------------+-----+---+---------------------+
TEST_P(AllocTest, alloc_low_stays_below_4_gib) {
  given({Add{.base = 3 * GiB, .size = 2 * GiB}});
  EXPECT_EQ(allocated(AllocLow{.size = 0x1000, .align = 0x1000}), 0xffffe000u);
  if (build().phys_bits == 32) {
    EXPECT_EQ(reserved_regions(), std::vector{reserved(0xffffe000, 0x1000)});
    return;
  }
  EXPECT_EQ(allocated(AllocRaw{.size = 0x1000, .align = 0x1000}), 5 * GiB - 0x1000);
  EXPECT_EQ(reserved_regions(),
            (std::vector{reserved(0xffffe000, 0x1000), reserved(5 * GiB - 0x1000, 0x1000)}));
}

// With room above min, the lower bound holds: bottom-up starts right at it.
TEST_P(AllocTest, min_addr_bounds_allocation_when_memory_above_it_fits) {
  expect_each(min_allocators(0x1000, 0x1000, 20 * MiB),
              {SetBottomUp{.enable = true}, Add{.base = 16 * MiB, .size = 16 * MiB}}, 20 * MiB,
              {reserved(20 * MiB, 0x1000)});
}

// memblock_alloc_internal: "The @min_addr limit is dropped if it can not be
// satisfied and the allocation will fall back to memory below @min_addr."
// The new block touches the reservation above it, so the two merge (fixed:
// first written expecting two regions, forgetting memblock_merge_regions).
//
//   16M                     24M = min                32M
//    +-----------------+-----+--------------------------+
//    |                 | new |        reserved          |
//    +-----------------+-----+--------------------------+
TEST_P(AllocTest, min_addr_is_dropped_when_nothing_fits_above_it) {
  expect_each(min_allocators(0x1000, 0x1000, 24 * MiB),
              {Add{.base = 16 * MiB, .size = 16 * MiB}, Reserve{.base = 24 * MiB, .size = 8 * MiB}},
              24 * MiB - 0x1000, {reserved(24 * MiB - 0x1000, 8 * MiB + 0x1000)});
}

// The physical range allocators have no such fallback: "Allocate @size bytes
// in the between @start and @end".
TEST_P(AllocTest, physical_range_allocators_keep_their_start) {
  expect_each_fails(
      {PhysAllocRange{.size = 0x1000, .align = 0x1000, .start = 24 * MiB, .end = anywhere},
       AllocRangeNid{.size = 0x1000,
                     .align = 0x1000,
                     .start = 24 * MiB,
                     .end = anywhere,
                     .nid = any_node,
                     .exact_nid = false}},
      {Add{.base = 16 * MiB, .size = 16 * MiB}, Reserve{.base = 24 * MiB, .size = 8 * MiB}});
}

// align == 0 means SMP_CACHE_BYTES: 32M - 0x1234 = 0x1ffedcc, rounded down to
// 64 bytes, is 0x1ffedc0 (not 0x1ffedcc as for align 1, nor a page boundary).
TEST_P(AllocTest, zero_align_means_smp_cache_bytes) {
  ASSERT_EQ(build().smp_cache_bytes, 64u);
  expect_each(every_allocator(0x1234, 0), {Add{.base = 16 * MiB, .size = 16 * MiB}}, 0x1ffedc0,
              {reserved(0x1ffedc0, 0x1234)});
}

// No fit anywhere: physical allocators return 0, virtual ones NULL, and
// nothing is reserved.
TEST_P(AllocTest, failed_allocation_returns_zero_or_null_and_changes_nothing) {
  expect_each_fails(every_allocator(0x2000, 0x1000),
                    {Add{.base = 16 * MiB, .size = page}, Reserve{.base = 20 * MiB, .size = page}});
}

// MEMBLOCK_NOMAP memory is not in the direct map: allocators skip it.
//
//   16M                 24M                        32M
//    +-------------+-----+-------------------------+
//    |             | new |         NOMAP           |
//    +-------------+-----+-------------------------+
TEST_P(AllocTest, nomap_memory_is_never_allocated) {
  expect_each(
      every_allocator(0x1000, 0x1000),
      {Add{.base = 16 * MiB, .size = 16 * MiB}, MarkNomap{.base = 24 * MiB, .size = 8 * MiB}},
      24 * MiB - 0x1000, {reserved(24 * MiB - 0x1000, 0x1000)});
}

// movable_node keeps MEMBLOCK_HOTPLUG memory hot-unpluggable: no allocation there.
TEST_P(AllocTest, hotplug_memory_is_skipped_with_movable_node) {
  expect_each(every_allocator(0x1000, 0x1000),
              {SetMovableNode{.on = true}, Add{.base = 16 * MiB, .size = 16 * MiB},
               MarkHotplug{.base = 24 * MiB, .size = 8 * MiB}},
              24 * MiB - 0x1000, {reserved(24 * MiB - 0x1000, 0x1000)});
}

// Without movable_node, hotpluggable memory is ordinary memory.
TEST_P(AllocTest, hotplug_memory_is_used_without_movable_node) {
  expect_each(
      every_allocator(0x1000, 0x1000),
      {Add{.base = 16 * MiB, .size = 16 * MiB}, MarkHotplug{.base = 24 * MiB, .size = 8 * MiB}},
      32 * MiB - 0x1000, {reserved(32 * MiB - 0x1000, 0x1000)});
}

// kernelcore=mirror: "the allocation is attempted first from the regions with
// mirroring enabled", even though non-mirrored memory lies higher.
//
//   16M            20M                               32M
//    +--------+-----+---------------------------------+
//    | MIRROR | new |          not mirrored           |
//    +--------+-----+---------------------------------+
TEST_P(AllocTest, mirrored_memory_is_preferred_with_mirrored_kernelcore) {
  expect_each(every_allocator(0x1000, 0x1000),
              {SetMirroredKernelcore{.on = true}, Add{.base = 16 * MiB, .size = 16 * MiB},
               MarkMirror{.base = 16 * MiB, .size = 4 * MiB}},
              20 * MiB - 0x1000, {reserved(20 * MiB - 0x1000, 0x1000)});
}

// "... and then retried from any memory region": mirror all taken.
TEST_P(AllocTest, non_mirrored_memory_is_the_fallback_when_mirror_is_full) {
  expect_each(
      every_allocator(0x1000, 0x1000),
      {SetMirroredKernelcore{.on = true}, Add{.base = 16 * MiB, .size = 16 * MiB},
       MarkMirror{.base = 16 * MiB, .size = 4 * MiB}, Reserve{.base = 16 * MiB, .size = 4 * MiB}},
      32 * MiB - 0x1000, {reserved(16 * MiB, 4 * MiB), reserved(32 * MiB - 0x1000, 0x1000)});
}

// Without kernelcore=mirror, memblock_mark_mirror() does nothing.
TEST_P(AllocTest, mark_mirror_has_no_effect_without_mirrored_kernelcore) {
  expect_each(
      every_allocator(0x1000, 0x1000),
      {Add{.base = 16 * MiB, .size = 16 * MiB}, MarkMirror{.base = 16 * MiB, .size = 4 * MiB}},
      32 * MiB - 0x1000, {reserved(32 * MiB - 0x1000, 0x1000)});
  EXPECT_FALSE(state().has_some_mirror);
  EXPECT_EQ(memory_regions(), std::vector{region(16 * MiB, 16 * MiB)});
}

// memblock_alloc, _from, _low, _node and _try_nid zero the block; the _raw
// allocators "Does not zero allocated memory" and report nothing.
TEST_P(AllocTest, zeroing_allocators_zero_the_block_and_raw_ones_promise_nothing) {
  const Phys size = 3 * page + 0x10;
  const std::vector<Op> zeroing = {
      Alloc{.size = size, .align = page}, AllocFrom{.size = size, .align = page, .min = 0},
      AllocLow{.size = size, .align = page},
      AllocNode{.size = size, .align = page, .nid = any_node},
      AllocTryNid{.size = size, .align = page, .min = 0, .max = accessible, .nid = any_node}};
  const std::vector<Op> raw = {
      AllocRaw{.size = size, .align = page},
      AllocTryNidRaw{.size = size, .align = page, .min = 0, .max = accessible, .nid = any_node},
      AllocExactNidRaw{.size = size, .align = page, .min = 0, .max = accessible, .nid = any_node}};
  given({Add{.base = 16 * MiB, .size = 16 * MiB}});
  for (const Op& op : zeroing) {
    SCOPED_TRACE(format_op(op));
    Allocation a = allocation(op);
    ASSERT_EQ(a.kind, Allocation::Kind::memory);
    EXPECT_EQ(a.zeroed, std::optional<bool>{true});
  }
  for (const Op& op : raw) {
    SCOPED_TRACE(format_op(op));
    Allocation a = allocation(op);
    ASSERT_EQ(a.kind, Allocation::Kind::memory);
    EXPECT_EQ(a.zeroed, std::nullopt);
  }
}

// Once slab is available, memblock_alloc* warn and hand out a slab object:
// memblock itself is left alone.
TEST_P(AllocTest, slab_available_turns_virtual_allocations_into_warned_slab_objects) {
  for (const Op& op : every_allocator(0x1000, 0x1000)) {
    if (is_physical(op)) continue;
    SCOPED_TRACE(format_op(op));
    memblock().reset();
    given({Add{.base = 16 * MiB, .size = 16 * MiB}, SetSlabAvailable{.on = true}});
    Snapshot before = state();
    Outcome outcome = memblock().run(op);
    EXPECT_EQ(outcome.status, Outcome::Status::completed);
    EXPECT_EQ(std::get<Allocation>(outcome.value).kind, Allocation::Kind::slab);
    if (reports_kernel_messages) {
      ASSERT_EQ(outcome.events.size(), 1u) << render_outcome(outcome);
      EXPECT_EQ(outcome.events[0].kind, KernelEvent::Kind::warn);
      EXPECT_EQ(outcome.events[0].file, "memblock.c");
    }
    EXPECT_EQ(state(), before);
  }
}

// The WARN guards memblock_alloc_internal only: memblock_phys_alloc* still
// allocate from memblock, silently.
TEST_P(AllocTest, slab_available_does_not_affect_physical_allocators) {
  std::vector<Op> physical;
  for (const Op& op : every_allocator(0x1000, 0x1000))
    if (is_physical(op)) physical.push_back(op);
  ASSERT_EQ(physical.size(), 4u);
  expect_each(physical, {Add{.base = 16 * MiB, .size = 16 * MiB}, SetSlabAvailable{.on = true}},
              32 * MiB - 0x1000, {reserved(32 * MiB - 0x1000, 0x1000)});
}

// nid == MAX_NUMNODES is deprecated: memblock warns and treats it as
// NUMA_NO_NODE (without NUMA, MAX_NUMNODES is 1).
TEST_P(AllocTest, max_numnodes_nid_warns_and_means_any_node) {
  given({Add{.base = 16 * MiB, .size = 16 * MiB}});
  Outcome outcome = memblock().run(
      PhysAllocTryNid{.size = 0x1000, .align = 0x1000, .nid = Nid{build().max_numnodes}});
  EXPECT_EQ(outcome.status, Outcome::Status::completed);
  EXPECT_EQ(std::get<Address>(outcome.value).value, 32 * MiB - 0x1000);
  if (!reports_kernel_messages) return;
  ASSERT_FALSE(outcome.events.empty());
  for (const KernelEvent& e : outcome.events) {
    EXPECT_EQ(e.kind, KernelEvent::Kind::warn);
    EXPECT_NE(e.text.find("MAX_NUMNODES is deprecated"), std::string::npos) << e.text;
  }
}

MBFUZZ_EVERY_VARIANT(AllocTest);

// Two nodes side by side.
//
//   16M          node 0          24M          node 1          32M
//    +----------------------------+----------------------------+
using AllocNumaTest = AllocTest;

const std::vector<Op> two_nodes = {
    AddNode{.base = 16 * MiB, .size = 8 * MiB, .nid = Nid{0}, .flags = Flags{}},
    AddNode{.base = 24 * MiB, .size = 8 * MiB, .nid = Nid{1}, .flags = Flags{}}};

// Top-down on node 0 ends below 24M, not at the top of memory; bottom-up on
// node 1 starts at 24M, not at the bottom.
TEST_P(AllocNumaTest, nid_allocation_comes_from_the_requested_node) {
  for (bool exact : {false, true}) {
    expect_each(node_allocators(0x1000, 0x1000, 0, exact), two_nodes, 24 * MiB - 0x1000,
                {reserved(24 * MiB - 0x1000, 0x1000)});
    std::vector<Op> bottom_up = two_nodes;
    bottom_up.push_back(SetBottomUp{.enable = true});
    expect_each(node_allocators(0x1000, 0x1000, 1, exact), bottom_up, 24 * MiB,
                {reserved(24 * MiB, 0x1000)});
  }
}

// Node 0 full: the non-exact allocators fall back to any node.
TEST_P(AllocNumaTest, nid_allocation_falls_back_to_any_node_when_the_node_is_full) {
  std::vector<Op> setup = two_nodes;
  setup.push_back(Reserve{.base = 16 * MiB, .size = 8 * MiB});
  expect_each(node_allocators(0x1000, 0x1000, 0, false), setup, 32 * MiB - 0x1000,
              {reserved(16 * MiB, 8 * MiB), reserved(32 * MiB - 0x1000, 0x1000)});
}

// Node 0 full: exact_nid allocators fail rather than leave the node.
TEST_P(AllocNumaTest, exact_nid_allocation_fails_when_the_node_is_full) {
  std::vector<Op> setup = two_nodes;
  setup.push_back(Reserve{.base = 16 * MiB, .size = 8 * MiB});
  expect_each_fails(node_allocators(0x1000, 0x1000, 0, true), setup);
}

MBFUZZ_NUMA_VARIANTS(AllocNumaTest);

}  // namespace
}  // namespace mbfuzz::testing
