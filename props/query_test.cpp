// Every query answers what the region arrays say.
#include "props/generators.hpp"
#include "props/support.hpp"

namespace mbfuzz::props {
namespace {

bool truth(const Outcome& o) { return std::get<Truth>(o.value).value; }
Phys number(const Outcome& o) { return std::get<Address>(o.value).value; }

TEST(Props, queries_agree_with_the_region_arrays) {
  holds([] {
    const Variant& v = **variant();
    std::vector<Op> ops = *layout(bounded_for(v));
    const Phys addr = *address(bounded_for(v)), base = *address(bounded_for(v)), length = *size(bounded_for(v));
    // the trace kept on failure ends with the queries asked
    std::vector<Op> asked = ops;
    asked.insert(asked.end(), {IsMemory{addr}, IsRegionMemory{base, length}, OverlapsRegion{RegionType::reserved, base, length}});
    trying(v, asked);
    Replay run(v);
    run.all(ops);
    const Snapshot s = run.state();
    const AddressSet memory = covered(s.memory), reserved = covered(s.reserved);
    // memblock_cap_size: a range never passes the top of the address space
    const Phys capped = std::min(length, v.build().phys_addr_max() - base);
    const auto range = interval(base, base + capped);

    RC_ASSERT(truth(run(IsMemory{addr})) == icl::contains(memory, addr));
    RC_ASSERT(truth(run(IsReserved{addr})) == icl::contains(reserved, addr));
    RC_ASSERT(truth(run(IsMapMemory{addr})) == icl::contains(covered(s.memory, Flags::nomap), addr));
    RC_ASSERT(truth(run(OverlapsRegion{RegionType::memory, base, length})) == icl::intersects(memory, range));
    RC_ASSERT(truth(run(OverlapsRegion{RegionType::reserved, base, length})) == icl::intersects(reserved, range));
    RC_ASSERT(truth(run(IsRegionReserved{base, length})) == icl::intersects(reserved, range));
    const bool in_one_region = std::any_of(s.memory.regions.begin(), s.memory.regions.end(), [&](const Region& r) {
      return r.size && r.base <= base && base + capped <= r.end();
    });
    RC_ASSERT(truth(run(IsRegionMemory{base, length})) == in_one_region);
    RC_ASSERT(number(run(PhysMemSize{})) == icl::length(memory));
    RC_ASSERT(number(run(ReservedSize{})) == icl::length(reserved));
    if (!icl::is_empty(memory)) {
      RC_ASSERT(number(run(StartOfDram{})) == icl::first(memory));
      RC_ASSERT(number(run(EndOfDram{})) == icl::last(memory) + 1);
    }
    const PfnNid found = std::get<PfnNid>(run(SearchPfnNid{addr / page}).value);
    const Phys at = addr / page * page;
    const auto region = std::find_if(s.memory.regions.begin(), s.memory.regions.end(),
                                     [&](const Region& r) { return r.size && r.base <= at && at < r.end(); });
    if (region == s.memory.regions.end()) {
      RC_ASSERT(found.nid == -1);
    } else {
      RC_ASSERT(found.nid == region->nid);
      RC_ASSERT(found.start_pfn == region->base / page);
      RC_ASSERT(found.end_pfn == region->end() / page);
    }
  });
}

}  // namespace
}  // namespace mbfuzz::props
