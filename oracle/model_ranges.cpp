// The specification of the operations that change the region arrays.
#include <cerrno>

#include "oracle/model.hpp"

namespace mbfuzz::oracle {

Model::Model(const Knobs& knobs)
    : memory(knobs.init_regions, knobs.empty_array_has_dummy, 0),
      reserved(knobs.init_regions, knobs.empty_array_has_dummy, 0),
      current_limit(knobs.phys_addr_max()),  // MEMBLOCK_ALLOC_ANYWHERE
      knobs_(knobs) {}

// A region array holds at most `max` regions. When an operation needs more,
// the array is doubled if resizing is allowed: the new array comes from the
// slab once it is available, otherwise from memblock itself (page-aligned,
// anywhere below current_limit, never inside the area being reserved), and is
// then reserved; the old array is freed unless it was the static one.
bool Model::grow(RegionArrayModel& array, Phys area_base, Phys area_size) {
  if (!can_resize) return false;
  const Phys page = knobs_.page_size;
  const Phys old_bytes = array.max * knobs_.region_size;
  const Phys old_alloc = (old_bytes + page - 1) / page * page;
  const Phys new_alloc = (2 * old_bytes + page - 1) / page * page;
  const bool from_slab = slab_available;

  Phys addr = 0;
  if (from_slab) {
    if (2 * old_bytes > knobs_.kmalloc_max) return false;
  } else {
    if (&array != &reserved) area_base = area_size = 0;
    addr = find_anywhere(area_base + area_size, current_limit, new_alloc, page);
    if (addr == 0 && area_size != 0)
      addr = find_anywhere(0, std::min(area_base, current_limit), new_alloc, page);
    if (addr == 0) return false;
  }

  const bool old_in_slab = array.in_slab;
  const bool old_static = array.in_static_array;
  const Phys old_addr = array.array_addr;
  array.max *= 2;
  array.in_static_array = false;
  array.array_addr = addr;
  if (!old_in_slab && !old_static) remove_range(reserved, old_addr, old_alloc);
  if (!from_slab && add_range(reserved, addr, new_alloc, unassigned_node(), 0) != 0)
    throw ArrayReservationFailed{};
  array.in_slab = from_slab;
  return true;
}

int Model::add_range(RegionArrayModel& array, Phys base, Phys size, int nid, std::uint32_t flags) {
  size = cap(base, size);
  if (size == 0) return 0;
  const Phys end = base + size;
  const Attributes attributes{node(nid), flags};
  if (array.empty()) {
    array.regions.insert(std::make_pair(interval(base, end), attributes));
    return 0;
  }
  // Growing reserved reserves the new array, so the gaps are counted again.
  while (true) {
    auto gaps = array.gaps(base, end);
    if (gaps.empty()) return 0;  // nothing new: not even a merge
    if (array.cnt() + gaps.size() > array.max) {
      if (!grow(array, base, size)) return -ENOMEM;
      continue;
    }
    for (const Interval& gap : gaps) array.regions.insert(std::make_pair(gap, attributes));
    array.merge();
    return 0;
  }
}

// Splitting may create two regions, so two free entries are required first.
int Model::isolate(RegionArrayModel& array, Phys base, Phys size) {
  size = cap(base, size);
  if (size == 0) return 0;
  while (array.cnt() + 2 > array.max)
    if (!grow(array, base, size)) return -ENOMEM;
  array.split_at(base);
  array.split_at(base + size);
  return 0;
}

int Model::remove_range(RegionArrayModel& array, Phys base, Phys size) {
  if (int err = isolate(array, base, size)) return err;
  size = cap(base, size);
  if (size == 0 || array.empty()) return 0;
  array.regions.erase(interval(base, base + size));
  // An array emptied by removal gets a dummy entry of no node.
  if (array.empty()) array.dummy_nid = unassigned_node();
  return 0;
}

namespace {

// Applies `change` to the attributes of every region inside [base, end);
// the regions have been isolated, so each lies wholly inside or outside.
template <class Change>
void change_attributes(RegionArrayModel& array, Phys base, Phys end, Change change) {
  std::vector<std::pair<Interval, Attributes>> inside;
  for (const auto& segment : array.regions)
    if (icl::lower(segment.first) >= base && icl::upper(segment.first) <= end) inside.push_back(segment);
  for (auto& [iv, attributes] : inside) {
    array.regions.erase(iv);
    change(attributes);
    array.regions.insert(std::make_pair(iv, attributes));
  }
}

}  // namespace

int Model::set_flag(Phys base, Phys size, bool set, std::uint32_t flag) {
  if (int err = isolate(memory, base, size)) return err;
  const Phys end = base + cap(base, size);
  change_attributes(memory, base, end, [&](Attributes& a) {
    a.flags = set ? (a.flags | flag) : (a.flags & ~flag);
  });
  memory.merge();
  return 0;
}

int Model::set_node(RegionArrayModel& array, Phys base, Phys size, int nid) {
  if (!knobs_.numa) return 0;  // without CONFIG_NUMA regions have no node
  if (int err = isolate(array, base, size)) return err;
  const Phys end = base + cap(base, size);
  change_attributes(array, base, end, [&](Attributes& a) { a.nid = nid; });
  array.merge();
  return 0;
}

// Every memory region shrinks to the `align`-aligned part of it; a region
// with no aligned part goes. (align is a power of two.)
void Model::trim_memory(Phys align) {
  std::vector<std::pair<Interval, Attributes>> regions(memory.regions.begin(), memory.regions.end());
  for (const auto& [iv, attributes] : regions) {
    const Phys start = phys(((icl::lower(iv) - 1) | (align - 1)) + 1);
    const Phys end = icl::upper(iv) & ~(align - 1);
    if (start == icl::lower(iv) && end == icl::upper(iv)) continue;
    memory.regions.erase(iv);
    if (start < end && start >= icl::lower(iv))
      memory.regions.insert(std::make_pair(interval(start, end), attributes));
    else if (memory.empty())
      memory.dummy_nid = unassigned_node();
  }
}

Phys Model::address_after(Phys limit) const {
  for (const auto& [iv, attributes] : memory.regions) {
    if (limit <= icl::length(iv)) return icl::lower(iv) + limit;
    limit -= icl::length(iv);
  }
  return knobs_.phys_addr_max();
}

// Memory is cut so that `limit` bytes of it remain; reservations beyond the
// cut go too.
void Model::enforce_memory_limit(Phys limit) {
  if (limit == 0) return;
  const Phys cut = address_after(limit);
  if (cut == knobs_.phys_addr_max()) return;
  remove_range(memory, cut, knobs_.phys_addr_max());
  remove_range(reserved, cut, knobs_.phys_addr_max());
}

// Only [base, base + size) of memory and reserved remains, apart from NOMAP
// memory, which stays wherever it is.
void Model::cap_memory_range(Phys base, Phys size) {
  if (size == 0 || memory.total_size() == 0) return;
  if (isolate(memory, base, size) != 0) return;
  const Phys end = base + cap(base, size);
  std::vector<Interval> outside;
  for (const auto& [iv, attributes] : memory.regions)
    if ((icl::upper(iv) <= base || icl::lower(iv) >= end) && !(attributes.flags & Flags::nomap))
      outside.push_back(iv);
  for (const Interval& iv : outside) memory.regions.erase(iv);
  if (memory.empty() && !outside.empty()) memory.dummy_nid = unassigned_node();
  remove_range(reserved, 0, base);
  remove_range(reserved, end, knobs_.phys_addr_max());
}

void Model::mem_limit_remove_map(Phys limit) {
  if (limit == 0) return;
  const Phys cut = address_after(limit);
  if (cut == knobs_.phys_addr_max()) return;
  cap_memory_range(0, cut);
}

}  // namespace mbfuzz::oracle
