// Round trips and whole-map transformations, from generated layouts.
#include "props/generators.hpp"
#include "props/support.hpp"

namespace mbfuzz::props {
namespace {

// The regions of an array (base, size, flags, nid), without an empty array's
// dummy entry, whose node memblock does not keep (the array's place and
// capacity aside).
std::vector<Region> regions(const RegionArray& a) {
  std::vector<Region> out;
  for (const Region& r : a.regions)
    if (r.size) out.push_back(r);
  return out;
}

// A range that no region of `a` overlaps (it may touch them).
rc::Gen<std::pair<Phys, Phys>> range_outside(const RegionArray& a, Space space) {
  return rc::gen::suchThat(rc::gen::pair(address(space), size(space)), [&a](const auto& r) {
    return !icl::intersects(covered(a), interval(r.first, r.first + r.second));
  });
}

// Putting a range outside `array` in and taking it out again leaves the
// array as it was: Put/Take are add/remove for memory, reserve/phys_free
// for reserved.
template <class Put, class Take>
void put_then_take_restores(RegionArray Snapshot::*array) {
  const Variant& v = **variant();
  std::vector<Op> ops = *layout(bounded_for(v));
  trying(v, ops);
  Replay run(v);
  run.all(ops);
  const Snapshot before = run.state();
  const auto [base, length] = *range_outside(before.*array, bounded_for(v));
  ops.push_back(Put{base, length});
  ops.push_back(Take{base, length});
  trying(v, ops);
  run(Put{base, length});
  run(Take{base, length});
  RC_ASSERT(regions(run.state().*array) == regions(before.*array));
  RC_ASSERT((run.state().*array).total_size == (before.*array).total_size);
}

TEST(Props, removing_what_was_just_added_restores_memory) {
  holds([] { put_then_take_restores<Add, Remove>(&Snapshot::memory); });
}

TEST(Props, freeing_what_was_just_reserved_restores_reserved) {
  holds([] { put_then_take_restores<Reserve, PhysFree>(&Snapshot::reserved); });
}

TEST(Props, adding_or_reserving_twice_is_adding_or_reserving_once) {
  holds([] {
    const Variant& v = **variant();
    std::vector<Op> ops = *layout(bounded_for(v));
    const Op again = *rc::gen::oneOf(op_of<Add>(bounded_for(v)), op_of<Reserve>(bounded_for(v)));
    ops.push_back(again);
    trying(v, ops);
    Replay run(v);
    run.all(ops);
    const Snapshot once = run.state();
    ops.push_back(again);
    trying(v, ops);
    RC_ASSERT(run(again).value == Value{Errno{0}});
    RC_ASSERT(run.state() == once);
  });
}

TEST(Props, disjoint_adds_commute) {
  holds([] {
    const Variant& v = **variant();
    const std::vector<Op> ops = *layout(bounded_for(v));
    const Phys a = *address(bounded_for(v)), a_size = *size(bounded_for(v));
    const Phys b = *address(bounded_for(v)), b_size = *size(bounded_for(v));
    RC_PRE(b >= a + a_size || a >= b + b_size);
    std::vector<Op> ab = ops, ba = ops;
    ab.push_back(Add{a, a_size});
    ab.push_back(Add{b, b_size});
    ba.push_back(Add{b, b_size});
    ba.push_back(Add{a, a_size});
    trying(v, ab);
    Snapshot first, second;
    {
      Replay run(v);
      run.all(ab);
      first = run.state();
    }
    {
      Replay run(v);
      run.all(ba);
      second = run.state();
    }
    RC_ASSERT(regions(first.memory) == regions(second.memory));
    RC_ASSERT(first.memory.total_size == second.memory.total_size);
  });
}

TEST(Props, remove_never_touches_reserved) {
  holds([] {
    const Variant& v = **variant();
    std::vector<Op> ops = *layout(bounded_for(v));
    const Op remove = *op_of<Remove>(bounded_for(v));
    ops.push_back(remove);
    trying(v, ops);
    Replay run(v);
    ops.pop_back();
    run.all(ops);
    const Snapshot before = run.state();
    run(remove);
    RC_ASSERT(run.state().reserved == before.reserved);
  });
}

TEST(Props, trim_memory_leaves_only_aligned_regions) {
  holds([] {
    const Variant& v = **variant();
    std::vector<Op> ops = *layout(bounded_for(v));
    const Phys align = page << *rc::gen::inRange(0, 10);
    ops.push_back(TrimMemory{align});
    trying(v, ops);
    Replay run(v);
    run.all(ops);
    for (const Region& r : run.state().memory.regions) {
      RC_ASSERT(r.base % align == 0u);
      RC_ASSERT(r.size % align == 0u);
    }
  });
}

TEST(Props, enforce_memory_limit_keeps_exactly_the_limit) {
  holds([] {
    const Variant& v = **variant();
    std::vector<Op> ops = *layout(bounded_for(v));
    const Phys limit = *rc::gen::inRange<Phys>(1, 256 * MiB);
    trying(v, ops);
    Replay run(v);
    run.all(ops);
    const AddressSet before = covered(run.state().memory);
    ops.push_back(EnforceMemoryLimit{limit});
    trying(v, ops);
    run(EnforceMemoryLimit{limit});
    const AddressSet after = covered(run.state().memory);
    RC_ASSERT(icl::length(after) == std::min<Phys>(limit, icl::length(before)));
    RC_ASSERT(icl::contains(before, after));
    // what is kept is the lowest memory
    if (!icl::is_empty(after) && !icl::is_empty(before - after))
      RC_ASSERT(icl::last(after) < icl::first(before - after));
  });
}

TEST(Props, cap_memory_range_keeps_only_the_range) {
  holds([] {
    const Variant& v = **variant();
    std::vector<Op> ops = *layout(bounded_for(v));
    const Phys base = *address(bounded_for(v)), length = *size(bounded_for(v));
    trying(v, ops);
    Replay run(v);
    run.all(ops);
    const AddressSet before = covered(run.state().memory);
    RC_PRE(!icl::is_empty(before));  // with no memory it only warns
    // NOMAP memory stays wherever it is: it is not mapped, so not "kept"
    const AddressSet nomap = before - covered(run.state().memory, Flags::nomap);
    ops.push_back(CapMemoryRange{base, length});
    trying(v, ops);
    run(CapMemoryRange{base, length});
    const auto range = interval(base, base + std::min(length, v.build().phys_addr_max() - base));
    RC_ASSERT(covered(run.state().memory) == ((before & range) + (nomap - range)));
    for (const Region& r : run.state().reserved.regions)
      if (r.size) RC_ASSERT(r.base >= base && r.end() <= icl::upper(range));
  });
}

}  // namespace
}  // namespace mbfuzz::props
