// A memblock region array as the specification describes it: an ordered set
// of disjoint address intervals, each with attributes (node id, flags),
// held as a Boost.ICL split_interval_map so that region boundaries survive
// exactly as memblock keeps them (a split region stays split until merged).
#pragma once

#include <boost/icl/interval_set.hpp>
#include <boost/icl/right_open_interval.hpp>
#include <boost/icl/split_interval_map.hpp>

#include <cstdint>
#include <vector>

#include "core/snapshot.hpp"

namespace mbfuzz::oracle {

namespace icl = boost::icl;

using Interval = icl::right_open_interval<Phys>;
using AddressSet = icl::interval_set<Phys, std::less, Interval>;

// What distinguishes two regions besides their extent.
struct Attributes {
  int nid = 0;
  std::uint32_t flags = 0;
  bool operator==(const Attributes&) const = default;
};

// partial_enricher: a region whose attributes equal Attributes{} (node 0,
// no flags) is a region like any other, not an absent value.
template <template <class, class, class, template <class> class, template <class> class,
                    template <class> class, class, template <class> class> class Map>
using AttributeMap = Map<Phys, Attributes, icl::partial_enricher, std::less, icl::inplace_plus,
                         icl::inter_section, Interval, std::allocator>;

using Segments = AttributeMap<icl::split_interval_map>;  // boundaries kept

inline Interval interval(Phys base, Phys end) { return Interval(base, end); }

// The bytes a region array of a snapshot covers, leaving out regions with
// any of `without_flags`.
inline AddressSet covered(const mbfuzz::RegionArray& a, std::uint32_t without_flags = 0) {
  AddressSet set;
  for (const Region& r : a.regions)
    if (r.size && !(r.flags & without_flags)) set += interval(r.base, r.end());
  return set;
}

class RegionArrayModel {
 public:
  RegionArrayModel(std::uint64_t capacity, bool has_dummy, int fresh_dummy_nid)
      : max(capacity), has_dummy_entry(has_dummy), dummy_nid(fresh_dummy_nid) {}

  Segments regions;
  std::uint64_t max;             // capacity of the array
  bool in_static_array = true;   // still the __initdata array
  bool in_slab = false;          // the array was kmalloc'd
  Phys array_addr = 0;           // where a memblock-allocated array lives
  bool has_dummy_entry;          // an empty array holds one empty entry (before 6.11)
  int dummy_nid;                 // node id of that entry

  bool empty() const { return regions.empty(); }

  // Entries in use, an empty array's dummy entry included.
  std::uint64_t cnt() const {
    auto n = static_cast<std::uint64_t>(icl::interval_count(regions));
    return n == 0 && has_dummy_entry ? 1 : n;
  }

  Phys total_size() const {
    Phys total = 0;
    for (const auto& [iv, attr] : regions) total += icl::length(iv);
    return total;
  }

  AddressSet covered() const {
    AddressSet set;
    for (const auto& [iv, attr] : regions) set += iv;
    return set;
  }

  // The parts of [base, end) no region covers, in address order.
  std::vector<Interval> gaps(Phys base, Phys end) const {
    AddressSet gap;
    gap += interval(base, end);
    for (auto [first, last] = regions.equal_range(interval(base, end)); first != last; ++first) gap -= first->first;
    return {gap.begin(), gap.end()};
  }

  // The region containing addr, or end(). No region contains the last
  // address (sizes are capped below it), whose singleton interval ICL
  // could not even form.
  Segments::const_iterator region_at(Phys addr) const {
    return addr == ~Phys{0} ? regions.end() : regions.find(addr);
  }

  // Regions crossing `at` become two regions meeting at `at`.
  void split_at(Phys at) {
    auto it = region_at(at);
    if (it == regions.end() || icl::lower(it->first) == at) return;
    auto [iv, attr] = *it;
    regions.erase(iv);
    regions.insert(std::make_pair(interval(icl::lower(iv), at), attr));
    regions.insert(std::make_pair(interval(at, icl::upper(iv)), attr));
  }

  // Neighbours that touch and have equal attributes become one region.
  void merge() {
    for (auto it = regions.begin(); it != regions.end();) {
      auto next = std::next(it);
      if (next == regions.end() || icl::upper(it->first) != icl::lower(next->first) || !(it->second == next->second)) {
        it = next;
        continue;
      }
      const auto joined = std::make_pair(interval(icl::lower(it->first), icl::upper(next->first)), it->second);
      regions.erase(it, std::next(next));
      regions.insert(joined);
      it = regions.lower_bound(joined.first);  // it may join its next neighbour too
    }
  }

  // The array as the kernel holds it, dummy entry included.
  std::vector<Region> entries() const {
    std::vector<Region> out;
    if (empty()) {
      if (has_dummy_entry) out.push_back(Region{0, 0, 0, dummy_nid});
      return out;
    }
    for (const auto& [iv, attr] : regions)
      out.push_back(Region{icl::lower(iv), icl::length(iv), attr.flags, attr.nid});
    return out;
  }
};

}  // namespace mbfuzz::oracle
