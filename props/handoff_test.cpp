// Growing the region arrays, and handing free memory to the buddy allocator.
#include "oracle/knobs.hpp"
#include "props/generators.hpp"
#include "props/support.hpp"

namespace mbfuzz::props {
namespace {

Phys page_align(Phys v) { return (v + page - 1) / page * page; }

TEST(Props, doubling_the_array_keeps_every_region_and_reserves_the_new_array) {
  holds([] {
    const Variant& v = **variant();
    const Phys n = *rc::gen::inRange<Phys>(129, 1000);
    const Phys first = *rc::gen::inRange<Phys>(1, 64) * MiB;
    std::vector<Op> ops{AllowResize{}};
    AddressSet added;
    for (Phys i = 0; i < n; ++i) {  // 8 pages each, one page apart: none merge
      ops.push_back(Add{first + i * 9 * page, 8 * page});
      added += interval(first + i * 9 * page, first + i * 9 * page + 8 * page);
    }
    trying(v, ops);
    Replay run(v);
    run.all(ops);
    for (const Outcome& o : run.outcomes) RC_ASSERT(o.value == Value{Errno{0}} || o.value == Value{NoValue{}});
    const Snapshot s = run.state();
    RC_ASSERT(s.memory.cnt == n);
    RC_ASSERT(covered(s.memory) == added);
    RC_ASSERT(!s.memory.in_static_array);
    // the array in use, and only it, is reserved, inside memory
    const Phys array_bytes = s.memory.max * oracle::Knobs::for_build(v.build()).region_size;
    RC_ASSERT(s.reserved.total_size == page_align(array_bytes));
    RC_ASSERT(icl::contains(covered(s.memory), covered(s.reserved)));
  });
}

TEST(Props, free_all_releases_exactly_the_whole_free_pages_below_max_low_pfn_in_aligned_blocks) {
  holds([] {
    const Variant& v = **variant();
    std::vector<Op> ops = *rc::gen::container<std::vector<Op>>(rc::gen::weightedOneOf<Op>({
        {3, op_of<Add>(Space::low)}, {2, op_of<Reserve>(Space::low)},
        {1, op_of<AddNode>(Space::low)}, {1, op_of<MarkNomap>(Space::low)}}));
    ops.erase(std::remove_if(ops.begin(), ops.end(),
                             [](const Op& op) {  // below 4 GiB: few enough pages to count
                               return std::visit([](const auto& o) {
                                 if constexpr (requires { o.base + o.size; }) return o.base + o.size > (Phys{1} << 32) || o.base >= (Phys{1} << 32);
                                 else return false;
                               }, op);
                             }),
              ops.end());
    const std::uint64_t max_low_pfn = *rc::gen::inRange<std::uint64_t>(0, (Phys{1} << 32) / page + 1);
    trying(v, ops);
    Replay run(v);
    run.all(ops);
    const Snapshot before = run.state();
    ops.push_back(FreeAll{max_low_pfn});
    trying(v, ops);
    run(ops.back());
    // Hotplug flags are cleared first, and regions that then match merge.
    std::vector<Region> memory;
    for (Region r : before.memory.regions) {
      r.flags &= ~Flags::hotplug;
      if (!memory.empty() && memory.back().end() == r.base && memory.back().nid == r.nid &&
          memory.back().flags == r.flags)
        memory.back().size += r.size;
      else
        memory.push_back(r);
    }
    // whole pages of each free range (memory, neither NOMAP nor driver-managed, minus reserved)
    AddressSet expected;
    for (const Region& r : memory) {
      if (r.size == 0 || (r.flags & (Flags::nomap | Flags::driver_managed))) continue;
      AddressSet range{interval(r.base, r.end())};
      range -= covered(before.reserved);
      for (const auto& piece : range) {
        const Phys first = (icl::lower(piece) + page - 1) / page;
        const Phys last = std::min<Phys>(icl::upper(piece) / page, max_low_pfn);
        if (first < last) expected += interval(first, last);
      }
    }
    const auto& release = std::get<BuddyRelease>(run.outcomes.back().value);
    AddressSet released;
    Phys pages_released = 0;
    for (const PageBlock& b : release.blocks) {
      const Phys count = Phys{1} << b.order;
      RC_ASSERT(b.pfn % count == 0u);                                          // naturally aligned
      RC_ASSERT(!icl::intersects(released, interval(b.pfn, b.pfn + count)));  // once each
      released += interval(b.pfn, b.pfn + count);
      pages_released += count;
    }
    RC_ASSERT(released == expected);
    RC_ASSERT(static_cast<Phys>(release.totalram_pages) == pages_released);
  });
}

}  // namespace
}  // namespace mbfuzz::props
