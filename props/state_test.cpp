// Properties of the region arrays after any sequence of ops, and of every
// allocation, checked on the production memblock alone.
#include "props/generators.hpp"
#include "props/support.hpp"

namespace mbfuzz::props {
namespace {

// A generated sequence without memblock_trim_memory(): in 6.1 it shrinks
// regions without lowering total_size, the known divergence
// trim-memory-total-size (docs/findings.md), which these properties would
// report on every unaligned bank.
rc::Gen<std::vector<Op>> sequence_without_trim(Space space) {
  return rc::gen::map(sequence(space), [](std::vector<Op> ops) {
    std::erase_if(ops, [](const Op& op) { return std::holds_alternative<TrimMemory>(op); });
    return ops;
  });
}

// Sorted, non-overlapping, no empty region but an empty array's dummy,
// total_size the sum of the sizes, cnt at most max.
void well_formed(const RegionArray& a) {
  RC_ASSERT(a.cnt <= a.max);
  RC_ASSERT(a.regions.size() == a.cnt);
  Phys sum = 0;
  for (std::size_t i = 0; i < a.regions.size(); ++i) {
    sum += a.regions[i].size;
    if (a.cnt > 1) RC_ASSERT(a.regions[i].size != 0u);
    if (i + 1 < a.regions.size()) RC_ASSERT(a.regions[i].end() <= a.regions[i + 1].base);
  }
  RC_ASSERT(a.total_size == sum);
}

// No two neighbours that touch have the same node and flags.
void merged(const RegionArray& a) {
  for (std::size_t i = 0; i + 1 < a.regions.size(); ++i) {
    const Region &r = a.regions[i], &next = a.regions[i + 1];
    RC_ASSERT(!(r.end() == next.base && r.nid == next.nid && r.flags == next.flags));
  }
}

TEST(Props, region_arrays_stay_sorted_disjoint_summed_and_within_capacity) {
  holds([] {
    const Variant& v = **variant();
    const auto ops = *sequence_without_trim(bounded_for(v));
    trying(v, ops);
    Replay run(v);
    for (const Op& op : ops) {
      run(op);
      const Snapshot s = run.state();
      well_formed(s.memory);
      well_formed(s.reserved);
    }
  });
}

TEST(Props, neighbours_with_equal_node_and_flags_are_merged) {
  holds([] {
    const Variant& v = **variant();
    const auto ops = *sequence_without_trim(bounded_for(v));
    trying(v, ops);
    Replay run(v);
    for (const Op& op : ops) {
      // Cutting memory to a range keeps NOMAP regions outside it, split at
      // the cut and not merged again; a failed isolate may leave splits too.
      if (std::holds_alternative<CapMemoryRange>(op) || std::holds_alternative<MemLimitRemoveMap>(op)) return;
      run(op);
      if (run.ran_out_of_room() || run.aborted()) return;
      merged(run.state().memory);
      merged(run.state().reserved);
    }
  });
}

// What an allocating op asked for: bounds as the kernel-doc states them.
struct Ask {
  Phys size = 0, align = 0, lowest = 0, highest = 0;  // align 0: SMP_CACHE_BYTES
  int nid = Nid::no_node;
  bool exact_nid = false;
};

std::optional<Ask> ask(const Op& op, const Snapshot& before, Phys page_size, Phys phys_max) {
  auto bounds = [&](Phys size, Phys align, Phys start, Phys end, bool capped, int nid, bool exact) {
    end &= phys_max;
    if (end == Limit::accessible || end == Limit::noleaktrace || (capped && end > before.current_limit))
      end = before.current_limit;
    align &= phys_max;
    const Phys lo = std::max(start & phys_max, page_size);
    return Ask{size & phys_max, align, capped ? page_size : lo, std::max(lo, end), nid, exact};
  };
  return std::visit(
      [&](const auto& o) -> std::optional<Ask> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, PhysAllocRange>) return bounds(o.size, o.align, o.start, o.end.value, false, -1, false);
        else if constexpr (std::is_same_v<T, AllocRangeNid>) return bounds(o.size, o.align, o.start, o.end.value, false, o.nid.value, o.exact_nid);
        else if constexpr (std::is_same_v<T, PhysAlloc>) return bounds(o.size, o.align, 0, 0, false, -1, false);
        else if constexpr (std::is_same_v<T, AllocTryNid> || std::is_same_v<T, AllocTryNidRaw>) return bounds(o.size, o.align, o.min, o.max.value, true, o.nid.value, false);
        else if constexpr (std::is_same_v<T, AllocExactNidRaw>) return bounds(o.size, o.align, o.min, o.max.value, true, o.nid.value, true);
        else if constexpr (std::is_same_v<T, Alloc> || std::is_same_v<T, AllocRaw>) return bounds(o.size, o.align, 0, 0, true, -1, false);
        else return std::nullopt;
      },
      op);
}

std::optional<Phys> address_of(const Outcome& o) {
  if (const auto* a = std::get_if<Address>(&o.value); a && a->value) return a->value;
  if (const auto* a = std::get_if<Allocation>(&o.value); a && a->kind == Allocation::Kind::memory) return a->addr;
  return std::nullopt;
}

TEST(Props, an_allocation_lies_in_free_mapped_memory_aligned_within_its_bounds_and_on_its_node) {
  holds([] {
    const Variant& v = **variant();
    const auto ops = *sequence_without_trim(bounded_for(v));
    trying(v, ops);
    Replay run(v);
    const Phys page_size = v.build().page_size, phys_max = v.build().phys_addr_max();
    for (const Op& op : ops) {
      const Snapshot before = run.state();
      const Outcome& outcome = run(op);
      const auto request = ask(op, before, page_size, phys_max);
      const auto addr = address_of(outcome);
      if (!request || !addr || request->size == 0) continue;
      const Phys align = request->align ? request->align : v.build().smp_cache_bytes;
      const Phys end = *addr + request->size;
      // in memory minus reserved as they were, and not NOMAP
      RC_ASSERT(icl::contains(covered(before.memory, Flags::nomap) - covered(before.reserved), interval(*addr, end)));
      RC_ASSERT(*addr % align == 0u);
      RC_ASSERT(*addr >= request->lowest);
      RC_ASSERT(end <= request->highest);
      RC_ASSERT(icl::contains(covered(run.state().reserved), interval(*addr, end)));
      // on the node asked for, when the caller allows no other
      if (request->exact_nid && request->nid != Nid::no_node && v.build().numa)
        for (const Region& r : before.memory.regions)
          if (r.base <= *addr && *addr < r.end()) RC_ASSERT(r.nid == request->nid);
    }
  });
}

}  // namespace
}  // namespace mbfuzz::props
