// The specification of allocation, free-range iteration and the hand-off to
// the buddy allocator.
#include <bit>

#include "oracle/model.hpp"

namespace mbfuzz::oracle {

// Free memory is memory minus reserved, region by region (ranges of
// different regions are never joined), skipping memory the caller did not
// ask for: other nodes, hotpluggable memory under movable_node, non-mirrored
// memory when mirrored is asked for, NOMAP and driver-managed memory unless
// asked for.
std::vector<Range> Model::free_ranges(int nid, std::uint32_t flags) const {
  if (nid == knobs_.max_numnodes) nid = Nid::no_node;  // deprecated spelling of "any node"
  std::vector<Range> out;
  for (const auto& [iv, region] : memory.regions) {
    const std::uint32_t f = region.flags;
    if (nid != Nid::no_node && nid != region.nid) continue;
    if (movable_node && (f & Flags::hotplug) && !(flags & Flags::hotplug)) continue;
    if ((flags & Flags::mirror) && !(f & Flags::mirror)) continue;
    if (!(flags & Flags::nomap) && (f & Flags::nomap)) continue;
    if (!(flags & Flags::driver_managed) && (f & Flags::driver_managed)) continue;
    AddressSet free;
    free += iv;
    // free = iv - reserved, subtracting only the reservations that meet iv
    for (auto [first, last] = reserved.regions.equal_range(iv); first != last; ++first) free -= first->first;
    for (const Interval& piece : free) out.push_back(Range{icl::lower(piece), icl::upper(piece), region.nid});
  }
  return out;
}

// Top-down, the highest aligned [a, a + size) inside one free range clamped
// to [start, end]; bottom-up, the lowest. Ranges are tried from the top (from
// the bottom), and the first with a fit decides. The first page is never
// allocated. 0 means no fit.
Phys Model::find(Phys size, Phys align, Phys start, Phys end, int nid, std::uint32_t flags) const {
  if (end == Limit::accessible || end == Limit::noleaktrace) end = current_limit;
  start = std::max(start, knobs_.page_size);
  end = std::max(start, end);
  auto clamp = [&](Phys v) { return std::min(std::max(v, start), end); };
  const Phys mask = align - 1;
  std::vector<Range> ranges = free_ranges(nid, flags);
  if (bottom_up) {
    for (const Range& r : ranges) {
      const Phys lo = clamp(r.start), hi = clamp(r.end);
      const Phys a = phys(((lo - 1) | mask) + 1);  // lowest aligned address >= lo
      if (a == 0) return 0;                        // none: it would pass the top
      if (a < hi && hi - a >= size) return a;
    }
  } else {
    for (auto r = ranges.rbegin(); r != ranges.rend(); ++r) {
      const Phys lo = clamp(r->start), hi = clamp(r->end);
      if (hi < size) continue;
      const Phys a = (hi - size) & ~mask;  // highest aligned address with a + size <= hi
      if (a >= lo) return a;
    }
  }
  return 0;
}

Phys Model::find_anywhere(Phys start, Phys end, Phys size, Phys align) const {
  std::uint32_t flags = has_some_mirror ? Flags::mirror : Flags::none;
  Phys found = find(size, align, start, end, Nid::no_node, flags);
  if (found == 0 && flags) found = find(size, align, start, end, Nid::no_node, Flags::none);
  return found;
}

// Find, then reserve: on the requested node, then (unless exact) on any node;
// mirrored memory first when the system has some, then any memory.
Phys Model::alloc_range_nid(Phys size, Phys align, Phys start, Phys end, int nid, bool exact_nid) {
  if (nid == knobs_.max_numnodes) nid = Nid::no_node;  // deprecated spelling of "any node"
  if (align == 0) align = knobs_.smp_cache_bytes;
  auto try_node = [&](int node_id, std::uint32_t flags) {
    Phys found = find(size, align, start, end, node_id, flags);
    return found != 0 && add_range(reserved, found, size, unassigned_node(), 0) == 0 ? found : 0;
  };
  for (std::uint32_t flags : {has_some_mirror ? Flags::mirror : Flags::none, Flags::none}) {
    if (Phys found = try_node(nid, flags)) return found;
    if (nid != Nid::no_node && !exact_nid)
      if (Phys found = try_node(Nid::no_node, flags)) return found;
    if (flags == Flags::none) break;
  }
  return 0;
}

// memblock_alloc*: from the slab once it is available; otherwise below
// min(max, current_limit), from `min` up if possible, else from 0.
Allocation Model::alloc_internal(Phys size, Phys align, Phys min, Phys max, int nid,
                                 bool exact_nid, bool zeroing) {
  if (slab_available) {
    return size <= knobs_.kmalloc_max ? Allocation{Allocation::Kind::slab, 0, {}} : Allocation{};
  }
  max = std::min(max, current_limit);
  Phys addr = alloc_range_nid(size, align, min, max, nid, exact_nid);
  if (addr == 0 && min != 0) addr = alloc_range_nid(size, align, 0, max, nid, exact_nid);
  if (addr == 0) return Allocation{};
  Allocation a{Allocation::Kind::memory, addr, {}};
  if (zeroing) a.zeroed = true;
  return a;
}

// Pages go to the buddy allocator in naturally aligned blocks, each as large
// as alignment and the end allow, up to 2^(MAX_ORDER-1) pages; or one page
// at a time (memblock_free_late).
void Model::release_pages(BuddyRelease& release, std::uint64_t start_pfn, std::uint64_t end_pfn,
                          bool single_pages) const {
  const unsigned largest = knobs_.max_order - 1;
  for (std::uint64_t pfn = start_pfn; pfn < end_pfn;) {
    unsigned order = single_pages ? 0 : std::min<unsigned>(largest, pfn ? std::countr_zero(pfn) : largest);
    while (pfn + (std::uint64_t{1} << order) > end_pfn) --order;
    release.blocks.push_back(PageBlock{pfn, order});
    pfn += std::uint64_t{1} << order;
  }
  release.totalram_pages += static_cast<long>(end_pfn - start_pfn);
}

// Every whole free page below max_low_pfn goes to the buddy allocator;
// hotplug flags are cleared first.
BuddyRelease Model::free_all(std::uint64_t max_low_pfn) {
  set_flag(0, knobs_.phys_addr_max(), false, Flags::hotplug);
  BuddyRelease release;
  const Phys page = knobs_.page_size;
  for (const Range& r : free_ranges(Nid::no_node, Flags::none)) {
    const std::uint64_t start_pfn = pfn_up(r.start);
    const std::uint64_t end_pfn = std::min<std::uint64_t>(r.end / page, max_low_pfn);
    if (start_pfn < end_pfn) release_pages(release, start_pfn, end_pfn, false);
  }
  return release;
}

// The region arrays memblock allocated for itself are freed page by page.
BuddyRelease Model::discard() {
  BuddyRelease release;
  const Phys page = knobs_.page_size;
  for (const RegionArrayModel* array : {&reserved, &memory}) {
    if (array->in_static_array || array->in_slab) continue;
    const Phys bytes = (array->max * knobs_.region_size + page - 1) / page * page;
    release_pages(release, pfn_up(array->array_addr),
                  (array->array_addr + bytes) / page, true);
  }
  discarded = true;
  return release;
}

}  // namespace mbfuzz::oracle
