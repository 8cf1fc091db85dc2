// memblock's documented behaviour, one allocation unit at a time.
#include "oracle/brute_force.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace mbfuzz::oracle {

BruteForceModel::BruteForceModel(const Knobs& knobs, Flaw flaw)
    : knobs_(knobs), flaw_(flaw), current_limit_(knobs.phys_addr_max()) {}

// Bounds past the modelled space behave like its end: nothing lies beyond it.
std::size_t BruteForceModel::to_unit(Phys addr) const {
  return static_cast<std::size_t>(std::min(addr, span()) / unit());
}

// ---- unit arrays --------------------------------------------------------------

std::vector<BruteForceModel::Run> BruteForceModel::regions_of(const Units& units) {
  std::vector<Run> out;
  for (std::size_t u = 0; u < kUnits; ++u) {
    const Slot& s = units.slots[u];
    if (!s.present) continue;
    if (s.starts_region) {
      out.push_back(Run{u, u + 1, s.nid, s.flags});
    } else {
      out.back().end = u + 1;
    }
  }
  return out;
}

bool BruteForceModel::any_present(const Units& units) { return present_count(units) != 0; }

std::size_t BruteForceModel::present_count(const Units& units) {
  std::size_t n = 0;
  for (std::size_t u = 0; u < kUnits; ++u) n += units.slots[u].present;
  return n;
}

void BruteForceModel::settle(Units& units) {
  for (std::size_t u = 0; u < kUnits; ++u) {
    Slot& s = units.slots[u];
    if (!s.present) {
      s = Slot{};
    } else if (u == 0 || !units.slots[u - 1].present) {
      s.starts_region = true;
    }
  }
}

// memblock_isolate_range does nothing for an empty range.
void BruteForceModel::isolate(Units& units, std::size_t b, std::size_t e) {
  if (b >= e) return;
  for (std::size_t at : {b, e})
    if (at < kUnits && units.slots[at].present) units.slots[at].starts_region = true;
}

void BruteForceModel::merge(Units& units) {
  for (std::size_t u = 1; u < kUnits; ++u) {
    Slot& s = units.slots[u];
    const Slot& prev = units.slots[u - 1];
    if (s.present && prev.present && s.nid == prev.nid && s.flags == prev.flags)
      s.starts_region = false;
  }
}

// ---- memblock's operations -------------------------------------------------------

// memblock_add_range: every unit of the range that no region holds joins the
// array, one new region per gap; existing regions keep their attributes. The
// array is merged only if something was inserted.
int BruteForceModel::add(Units& units, Phys base, Phys size, int nid, std::uint32_t flags) {
  const std::size_t b = to_unit(base), e = to_unit(base + size);
  std::vector<bool> had(kUnits);
  for (std::size_t u = 0; u < kUnits; ++u) had[u] = units.slots[u].present;
  bool inserted = false;
  for (std::size_t u = b; u < e; ++u) {
    if (had[u]) continue;
    units.slots[u] = Slot{true, u == b || had[u - 1], stored_nid(nid), flags};
    inserted = true;
  }
  if (inserted) merge(units);
  return 0;
}

// memblock_remove_range: isolate, then drop what lies inside; no merge. An
// array emptied this way gets a placeholder entry of no node.
int BruteForceModel::remove(Units& units, Phys base, Phys size) {
  const std::size_t b = to_unit(base), e = to_unit(base + size);
  if (b >= e || !any_present(units)) return 0;
  isolate(units, b, e);
  for (std::size_t u = b; u < e; ++u) units.slots[u] = Slot{};
  settle(units);
  if (!any_present(units)) units.dummy_nid = unassigned_nid();
  return 0;
}

// memblock_trim_memory: each region shrinks to its align-aligned part, or
// goes if it has none. Shrunk regions stay where they are: no merge.
void BruteForceModel::trim(Phys align) {
  const bool had_any = any_present(memory_);
  for (const Run& r : regions_of(memory_)) {
    const Phys lo = r.begin * unit(), hi = r.end * unit();
    const Phys start = lo % align == 0 ? lo : (lo / align + 1) * align;
    const Phys end = hi / align * align;
    if (start == lo && end == hi) continue;
    for (std::size_t u = r.begin; u < r.end; ++u) memory_.slots[u] = Slot{};
    if (start >= end) continue;
    for (std::size_t u = to_unit(start); u < to_unit(end); ++u)
      memory_.slots[u] = Slot{true, u == to_unit(start), r.nid, r.flags};
  }
  settle(memory_);
  if (had_any && !any_present(memory_)) memory_.dummy_nid = unassigned_nid();
}

// __find_max_addr: where memory reaches `limit` bytes, counting upwards.
std::optional<Phys> BruteForceModel::address_after(Phys limit) const {
  Phys left = limit;
  for (std::size_t u = 0; u < kUnits; ++u) {
    if (!memory_.slots[u].present) continue;
    if (left <= unit()) return u * unit() + left;
    left -= unit();
  }
  return std::nullopt;
}

// memblock_cap_memory_range: memory outside [base, base + size) goes unless
// it is NOMAP; reserved is cut to the range.
void BruteForceModel::cap(Phys base, Phys size) {
  if (size == 0 || !any_present(memory_)) return;
  const std::size_t b = to_unit(base), e = to_unit(base + size);
  isolate(memory_, b, e);
  bool removed = false;
  for (std::size_t u = 0; u < kUnits; ++u) {
    Slot& s = memory_.slots[u];
    if (s.present && (u < b || u >= e) && !(s.flags & Flags::nomap)) {
      s = Slot{};
      removed = true;
    }
  }
  settle(memory_);
  if (removed && !any_present(memory_)) memory_.dummy_nid = unassigned_nid();
  remove(reserved_, 0, base);
  remove(reserved_, base + size, span() - std::min(base + size, span()));
}

// for_each_free_mem_range: per memory region the caller did not exclude, its
// units that no reservation holds, as maximal runs, in address order.
std::vector<BruteForceModel::Run> BruteForceModel::free_runs(int nid, std::uint32_t flags) const {
  if (nid == knobs_.max_numnodes) nid = Nid::no_node;  // the deprecated "any node"
  std::vector<Run> out;
  for (const Run& region : regions_of(memory_)) {
    const std::uint32_t f = region.flags;
    const bool wanted = (nid == Nid::no_node || nid == region.nid) &&
                        !(movable_node_ && (f & Flags::hotplug) && !(flags & Flags::hotplug)) &&
                        !((flags & Flags::mirror) && !(f & Flags::mirror)) &&
                        !((f & Flags::nomap) && !(flags & Flags::nomap)) &&
                        !((f & Flags::driver_managed) && !(flags & Flags::driver_managed));
    if (!wanted) continue;
    for (std::size_t u = region.begin; u < region.end; ++u) {
      if (reserved_.slots[u].present) continue;
      if (u > region.begin && !reserved_.slots[u - 1].present) {
        out.back().end = u + 1;
      } else {
        out.push_back(Run{u, u + 1, region.nid, f});
      }
    }
  }
  return out;
}

// memblock_find_in_range_node: each free run is clamped to [start, end]
// (never the first page), then every aligned address in it is tried, from
// the top (or the bottom); the first run with a fit decides.
Phys BruteForceModel::find(Phys size, Phys align, Phys start, Phys end, int nid,
                           std::uint32_t flags) const {
  if (end == Limit::accessible || end == Limit::noleaktrace) end = current_limit_;
  start = std::max(start, knobs_.page_size);
  end = std::max(start, end);
  const std::size_t first = to_unit(start), last = to_unit(end), need = to_unit(size);
  auto clamp = [&](std::size_t u) { return std::min(std::max(u, first), last); };
  auto aligned = [&](std::size_t u) { return (u * unit()) % align == 0; };
  const std::vector<Run> runs = free_runs(nid, flags);
  if (bottom_up_ || flaw_ == Flaw::top_down_takes_lowest) {
    for (const Run& r : runs) {
      const std::size_t lo = clamp(r.begin), hi = clamp(r.end);
      for (std::size_t a = lo; a < hi && hi - a >= need; ++a)
        if (aligned(a)) return a * unit();
    }
    return 0;
  }
  for (auto r = runs.rbegin(); r != runs.rend(); ++r) {
    const auto lo = static_cast<std::ptrdiff_t>(clamp(r->begin));
    const auto hi = static_cast<std::ptrdiff_t>(clamp(r->end));
    // A zero-sized request fits at the top of even an empty clamped run.
    for (std::ptrdiff_t a = hi - static_cast<std::ptrdiff_t>(need); a >= lo; --a)
      if (aligned(static_cast<std::size_t>(a))) return static_cast<Phys>(a) * unit();
  }
  return 0;
}

// memblock_alloc_range_nid: mirrored memory first when the system has some;
// within that, the node asked for, then (unless exact) any node. What is
// found is reserved.
Phys BruteForceModel::alloc_phys(Phys size, Phys align, Phys start, Phys end, int nid, bool exact) {
  if (nid == knobs_.max_numnodes) nid = Nid::no_node;
  if (align == 0) align = knobs_.smp_cache_bytes;
  std::vector<std::uint32_t> passes{Flags::none};
  if (has_some_mirror_) passes.insert(passes.begin(), Flags::mirror);
  std::vector<int> nodes{nid};
  if (nid != Nid::no_node && !exact) nodes.push_back(Nid::no_node);
  for (std::uint32_t flags : passes) {
    for (int node : nodes) {
      if (Phys found = find(size, align, start, end, node, flags)) {
        add(reserved_, found, size, knobs_.max_numnodes, Flags::none);
        return found;
      }
    }
  }
  return 0;
}

// memblock_alloc_internal: the slab once it is up; otherwise below
// current_limit, from min if possible, else from anywhere.
Allocation BruteForceModel::alloc_virt(Phys size, Phys align, Phys min, Phys max, int nid,
                                       bool exact, bool zeroing) {
  if (slab_available_)
    return size <= knobs_.kmalloc_max ? Allocation{Allocation::Kind::slab, 0, {}} : Allocation{};
  max = std::min(max, current_limit_);
  Phys addr = alloc_phys(size, align, min, max, nid, exact);
  if (addr == 0 && min != 0) addr = alloc_phys(size, align, 0, max, nid, exact);
  if (addr == 0) return Allocation{};
  return Allocation{Allocation::Kind::memory, addr, zeroing ? std::optional(true) : std::nullopt};
}

// memblock_free_all: hotplug flags are cleared (and memory merged), then the
// whole pages of every free run below max_low_pfn go to the buddy allocator
// as the largest naturally aligned blocks that fit, up to 2^(MAX_ORDER-1).
BuddyRelease BruteForceModel::free_all(std::uint64_t max_low_pfn) {
  change(memory_, 0, span(), [](Slot& s) { s.flags &= ~Flags::hotplug; });
  const Phys page = knobs_.page_size;
  BuddyRelease release;
  for (const Run& r : free_runs(Nid::no_node, Flags::none)) {
    std::uint64_t pfn = (r.begin * unit() + page - 1) / page;
    const std::uint64_t end = std::min<std::uint64_t>(r.end * unit() / page, max_low_pfn);
    if (pfn >= end) continue;
    release.totalram_pages += static_cast<long>(end - pfn);
    while (pfn < end) {
      unsigned order = 0;
      auto next = [&] { return std::uint64_t{2} << order; };
      while (order + 1 < knobs_.max_order && pfn % next() == 0 && pfn + next() <= end) ++order;
      release.blocks.push_back(PageBlock{pfn, order});
      pfn += std::uint64_t{1} << order;
    }
  }
  return release;
}

}  // namespace mbfuzz::oracle
