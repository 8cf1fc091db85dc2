// Where an allocation lands, checked by brute force: on an 80-page address
// space, every aligned candidate is tried against the free set page by page.
#include "props/generators.hpp"
#include "props/support.hpp"

namespace mbfuzz::props {
namespace {

// Ranges start in the first 64 pages and reach at most 79 pages up.
constexpr Phys pages = 80;

rc::Gen<Phys> small_address() { return rc::gen::map(rc::gen::inRange<Phys>(0, 64), [](Phys p) { return p * page; }); }
rc::Gen<Phys> small_size() { return rc::gen::map(rc::gen::inRange<Phys>(1, 16), [](Phys p) { return p * page; }); }

// A layout on the small address space: memory (some of it on other nodes,
// mirrored, NOMAP or hotpluggable) and reservations.
rc::Gen<std::vector<Op>> small_layout() {
  return rc::gen::container<std::vector<Op>>(rc::gen::weightedOneOf<Op>({
      {3, rc::gen::map(rc::gen::pair(small_address(), small_size()), [](auto p) { return Op{Add{p.first, p.second}}; })},
      {2, rc::gen::map(rc::gen::pair(small_address(), small_size()), [](auto p) { return Op{Reserve{p.first, p.second}}; })},
      {1, rc::gen::map(rc::gen::tuple(small_address(), small_size(), rc::gen::inRange(0, 3),
                                      rc::gen::element<std::uint32_t>(0, Flags::hotplug, Flags::mirror, Flags::nomap)),
                       [](auto t) {
                         auto [base, size, node, f] = t;
                         return Op{AddNode{base, size, Nid{node}, Flags{f}}};
                       })},
      {1, rc::gen::map(rc::gen::pair(small_address(), small_size()), [](auto p) { return Op{MarkMirror{p.first, p.second}}; })},
  }));
}

// The free page at each page number: memory that is not NOMAP, not
// hotpluggable under movable_node, and not reserved; with the region it is in.
std::vector<const Region*> free_pages(const Snapshot& s, bool movable_node) {
  std::vector<const Region*> free(pages, nullptr);
  for (const Region& r : s.memory.regions) {
    if (r.size == 0 || (r.flags & Flags::nomap) || (movable_node && (r.flags & Flags::hotplug))) continue;
    for (Phys p = r.base / page; p < r.end() / page && p < pages; ++p) free[p] = &r;
  }
  for (const Region& r : s.reserved.regions)
    for (Phys p = r.base / page; p * page < r.end() && p < pages; ++p) free[p] = nullptr;
  return free;
}

// Every address [a, a + size) may go to: aligned, inside the bounds, all
// pages free and in one region (mirrored only, if `mirror`).
std::vector<Phys> candidates(const std::vector<const Region*>& free, Phys size, Phys align, Phys lo, Phys hi, bool mirror) {
  std::vector<Phys> out;
  for (Phys a = 0; a + size <= pages * page; a += align) {
    if (a < lo || a + size > hi) continue;
    const Region* region = free[a / page];
    bool fits = region != nullptr && (!mirror || (region->flags & Flags::mirror));
    for (Phys p = a / page; fits && p < (a + size) / page; ++p) fits = free[p] == region;
    if (fits) out.push_back(a);
  }
  return out;
}

TEST(Props, top_down_takes_the_highest_fit_and_bottom_up_the_lowest_mirrored_first) {
  holds([] {
    const Variant& v = **variant();
    std::vector<Op> ops = *small_layout();
    const bool bottom_up = *rc::gen::arbitrary<bool>(), movable = *rc::gen::arbitrary<bool>();
    ops.insert(ops.begin(), SetMirroredKernelcore{true});
    ops.push_back(SetBottomUp{bottom_up});
    ops.push_back(SetMovableNode{movable});
    const Phys size = *small_size();
    const Phys align = page << *rc::gen::inRange(0, 4);
    const Phys start = *small_address();
    const Phys end = *rc::gen::weightedOneOf<Phys>({{1, rc::gen::just(Limit::anywhere)}, {2, small_address()}});
    const PhysAllocRange alloc{size, align, start, end};
    ops.push_back(alloc);
    trying(v, ops);

    Replay run(v);
    ops.pop_back();
    run.all(ops);
    const Snapshot before = run.state();
    const Outcome outcome = run(alloc);

    const auto free = free_pages(before, movable);
    const Phys limit = end == Limit::accessible ? before.current_limit : end;  // ANYWHERE unless set
    const Phys lo = std::max(start, page), hi = std::max(lo, std::min(limit, pages * page));
    std::vector<Phys> fits;
    if (before.has_some_mirror) fits = candidates(free, size, align, lo, hi, true);
    if (fits.empty()) fits = candidates(free, size, align, lo, hi, false);
    const Phys expected = fits.empty() ? 0 : bottom_up ? fits.front() : fits.back();
    RC_ASSERT(std::get<Address>(outcome.value).value == expected);
  });
}

}  // namespace
}  // namespace mbfuzz::props
