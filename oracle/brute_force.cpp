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

// memblock_setclr_flag and memblock_set_node: isolate, change the regions
// inside, then merge the whole array, even when nothing changed.
template <class Change>
int BruteForceModel::change(Units& units, Phys base, Phys size, Change change_slot) {
  const std::size_t b = to_unit(base), e = to_unit(base + size);
  isolate(units, b, e);
  for (std::size_t u = b; u < e; ++u)
    if (units.slots[u].present) change_slot(units.slots[u]);
  merge(units);
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

// ---- ops ------------------------------------------------------------------------

class BruteForceModel::Step {
 public:
  explicit Step(BruteForceModel& m) : m_(m), mem_(m.memory_), res_(m.reserved_) {}

  Value operator()(const SetSlabAvailable& op) { return set(m_.slab_available_, op.on); }
  Value operator()(const SetMovableNode& op) { return set(m_.movable_node_, op.on); }
  Value operator()(const SetMirroredKernelcore& op) { return set(m_.mirrored_kernelcore_, op.on); }
  Value operator()(const SetBottomUp& op) { return set(m_.bottom_up_, op.enable); }
  Value operator()(const AllowResize&) { return set(m_.can_resize_, true); }
  Value operator()(const SetCurrentLimit& op) {
    m_.current_limit_ = n(op.limit.value);
    return NoValue{};
  }

  // memblock_add and memblock_reserve give no node (MAX_NUMNODES) and no flags.
  Value operator()(const Add& op) { return put(mem_, op, m_.knobs_.max_numnodes, Flags::none); }
  Value operator()(const AddNode& op) { return put(mem_, op, op.nid.value, op.flags.bits); }
  Value operator()(const Reserve& op) { return put(res_, op, m_.knobs_.max_numnodes, Flags::none); }
  Value operator()(const Remove& op) { return Errno{m_.remove(mem_, n(op.base), n(op.size))}; }
  Value operator()(const PhysFree& op) { return Errno{m_.remove(res_, n(op.base), n(op.size))}; }
  Value operator()(const Free& op) {
    if (op.ptr) m_.remove(res_, n(*op.ptr), n(op.size));
    return NoValue{};
  }
  Value operator()(const MarkHotplug& op) { return flag(op, Flags::hotplug, true); }
  Value operator()(const ClearHotplug& op) { return flag(op, Flags::hotplug, false); }
  Value operator()(const MarkNomap& op) { return flag(op, Flags::nomap, true); }
  Value operator()(const ClearNomap& op) { return flag(op, Flags::nomap, false); }
  // Without kernelcore=mirror, memblock_mark_mirror does nothing at all.
  Value operator()(const MarkMirror& op) {
    if (!m_.mirrored_kernelcore_) return Errno{0};
    m_.has_some_mirror_ = true;
    return flag(op, Flags::mirror, true);
  }
  // Without CONFIG_NUMA, memblock_set_node does nothing at all.
  Value operator()(const SetNode& op) {
    if (!m_.knobs_.numa) return Errno{0};
    Units& units = op.type == RegionType::memory ? mem_ : res_;
    return Errno{m_.change(units, n(op.base), n(op.size), [&](Slot& s) { s.nid = op.nid.value; })};
  }

  Value operator()(const TrimMemory& op) {
    return done([&] { m_.trim(n(op.align)); });
  }
  // Both arrays lose everything from where memory reaches `limit` bytes.
  Value operator()(const EnforceMemoryLimit& op) {
    if (auto cut = limit_cut(op.limit)) {
      m_.remove(mem_, *cut, m_.span() - *cut);
      m_.remove(res_, *cut, m_.span() - *cut);
    }
    return NoValue{};
  }
  Value operator()(const CapMemoryRange& op) {
    return done([&] { m_.cap(n(op.base), n(op.size)); });
  }
  Value operator()(const MemLimitRemoveMap& op) {
    if (auto cut = limit_cut(op.limit)) m_.cap(0, *cut);
    return NoValue{};
  }

  Value operator()(const PhysAlloc& op) { return phys(op, 0, 0, kAnyNode, false); }
  Value operator()(const PhysAllocRange& op) {
    return phys(op, op.start, op.end.value, kAnyNode, false);
  }
  Value operator()(const PhysAllocTryNid& op) { return phys(op, 0, 0, op.nid.value, false); }
  Value operator()(const AllocRangeNid& op) {
    return phys(op, op.start, op.end.value, op.nid.value, op.exact_nid);
  }
  Value operator()(const Alloc& op) { return virt(op, 0, 0, kAnyNode, false); }
  Value operator()(const AllocRaw& op) { return virt(op, 0, 0, kAnyNode, false); }
  Value operator()(const AllocFrom& op) { return virt(op, op.min, 0, kAnyNode, false); }
  Value operator()(const AllocLow& op) { return virt(op, 0, m_.knobs_.low_limit, kAnyNode, false); }
  Value operator()(const AllocNode& op) { return virt(op, 0, 0, op.nid.value, false); }
  Value operator()(const AllocTryNid& op) {
    return virt(op, op.min, op.max.value, op.nid.value, false);
  }
  Value operator()(const AllocTryNidRaw& op) {
    return virt(op, op.min, op.max.value, op.nid.value, false);
  }
  Value operator()(const AllocExactNidRaw& op) {
    return virt(op, op.min, op.max.value, op.nid.value, true);
  }

  Value operator()(const OverlapsRegion& op) {
    return overlaps(op.type == RegionType::memory ? mem_ : res_, op.base, op.size);
  }
  Value operator()(const IsRegionReserved& op) { return overlaps(res_, op.base, op.size); }
  Value operator()(const IsMemory& op) { return Truth{region_at(mem_, op.addr).has_value()}; }
  Value operator()(const IsReserved& op) { return Truth{region_at(res_, op.addr).has_value()}; }
  Value operator()(const IsMapMemory& op) {
    auto r = region_at(mem_, op.addr);
    return Truth{r && !(r->flags & Flags::nomap)};
  }
  // Inside one region: a boundary memblock kept counts even between equal neighbours.
  Value operator()(const IsRegionMemory& op) {
    auto r = region_at(mem_, op.base);
    return Truth{r && r->end * m_.unit() >= n(op.base) + n(op.size)};
  }
  Value operator()(const PhysMemSize&) { return Address{present_count(mem_) * m_.unit()}; }
  Value operator()(const ReservedSize&) { return Address{present_count(res_) * m_.unit()}; }
  // The first region's base and the last one's end; 0 with no memory.
  Value operator()(const StartOfDram&) {
    const std::vector<Run> regions = regions_of(mem_);
    return Address{regions.empty() ? 0 : regions.front().begin * m_.unit()};
  }
  Value operator()(const EndOfDram&) {
    const std::vector<Run> regions = regions_of(mem_);
    return Address{regions.empty() ? 0 : regions.back().end * m_.unit()};
  }
  Value operator()(const SearchPfnNid& op) {
    auto r = region_at(mem_, op.pfn * page());
    if (!r) return PfnNid{};
    return PfnNid{r->nid, r->begin * m_.unit() / page(), r->end * m_.unit() / page()};
  }
  Value operator()(const FreeRanges& op) {
    Ranges out;
    for (const Run& r : m_.free_runs(op.nid.value, op.flags.bits))
      out.ranges.push_back(Range{r.begin * m_.unit(), r.end * m_.unit(), r.nid});
    if (op.reverse) std::reverse(out.ranges.begin(), out.ranges.end());
    return out;
  }
  // for_each_mem_pfn_range: the whole pages of each region; MAX_NUMNODES means every node.
  Value operator()(const MemPfnRanges& op) {
    Ranges out;
    for (const Run& r : regions_of(mem_)) {
      const std::uint64_t first = (r.begin * m_.unit() + page() - 1) / page();
      const std::uint64_t last = r.end * m_.unit() / page();
      if (first < last && (op.nid.value == m_.knobs_.max_numnodes || op.nid.value == r.nid))
        out.ranges.push_back(Range{first, last, r.nid});
    }
    return out;
  }
  Value operator()(const FreeAll& op) { return m_.free_all(op.max_low_pfn); }
  // The arrays never left their static storage, so there is nothing to hand over.
  Value operator()(const Discard&) {
    return done([&] { m_.discarded_ = true; }, BuddyRelease{});
  }

 private:
  static constexpr int kAnyNode = Nid::no_node;
  Phys n(Phys v) const { return m_.narrow(v); }
  Phys page() const { return m_.knobs_.page_size; }
  static Value set(bool& sw, bool on) {
    return done([&] { sw = on; });
  }
  template <class Action>
  static Value done(Action action, Value value = NoValue{}) {
    action();
    return value;
  }
  template <class RangeOp>
  Value put(Units& units, const RangeOp& op, int nid, std::uint32_t flags) {
    return Errno{m_.add(units, n(op.base), n(op.size), nid, flags)};
  }
  template <class RangeOp>
  Value flag(const RangeOp& op, std::uint32_t which, bool on) {
    return Errno{m_.change(mem_, n(op.base), n(op.size), [&](Slot& s) {
      s.flags = on ? (s.flags | which) : (s.flags & ~which);
    })};
  }
  std::optional<Phys> limit_cut(Phys limit) const {
    return n(limit) == 0 ? std::nullopt : m_.address_after(n(limit));
  }
  template <class AllocOp>
  Value phys(const AllocOp& op, Phys start, Phys end, int nid, bool exact) {
    return Address{m_.alloc_phys(n(op.size), n(op.align), n(start), n(end), nid, exact)};
  }
  template <class AllocOp>
  Value virt(const AllocOp& op, Phys min, Phys max, int nid, bool exact) {
    const bool zeroing = zeroing_alloc_v<AllocOp>;
    return m_.alloc_virt(n(op.size), n(op.align), n(min), n(max), nid, exact, zeroing);
  }
  Value overlaps(const Units& units, Phys base, Phys size) const {
    bool hit = false;
    for (std::size_t u = m_.to_unit(n(base)); u < m_.to_unit(n(base) + n(size)); ++u)
      hit = hit || units.slots[u].present;
    return Truth{hit};
  }
  std::optional<Run> region_at(const Units& units, Phys addr) const {
    for (const Run& r : regions_of(units))
      if (r.begin * m_.unit() <= n(addr) && n(addr) < r.end * m_.unit()) return r;
    return std::nullopt;
  }

  BruteForceModel& m_;
  Units& mem_;
  Units& res_;
};

namespace {

// The domain of the header's comment, checked field by field over each op's
// field list (core/op.hpp).
class Domain {
 public:
  Domain(const Knobs& k, Phys span) : k_(k), span_(span) {}

  template <class T>
  bool operator()(const T& op) const {
    bool ok = true;
    std::apply([&](const auto&... f) { ((ok = ok && field(op, f.name, op.*f.member)), ...); },
               T::fields());
    if constexpr (requires { op.base; }) ok = ok && n(op.base) + n(op.size) <= span_;
    if constexpr (std::is_same_v<T, Free>) ok = ok && (!op.ptr || n(*op.ptr) + n(op.size) <= span_);
    return ok;
  }

 private:
  Phys n(Phys v) const { return v & k_.phys_addr_max(); }
  bool unit_multiple(Phys v) const { return n(v) % k_.page_size == 0; }
  bool at(Phys v) const { return unit_multiple(v) && n(v) <= span_; }

  template <class T>
  bool field(const T&, std::string_view name, Phys v) const {
    // memblock_trim_memory has no default alignment; the allocators' 0 means SMP_CACHE_BYTES.
    if (name == "align")
      return std::has_single_bit(n(v)) || (n(v) == 0 && !std::is_same_v<T, TrimMemory>);
    if (name == "limit") return unit_multiple(v);  // an amount of memory
    if (name == "pfn") return v <= BruteForceModel::kUnits;
    if (name == "max_low_pfn") return true;
    return at(v);  // base, size, addr, start, min
  }
  // An allocation bound may also be symbolic or lie past the modelled space;
  // current_limit cannot be a 1-byte NOLEAKTRACE.
  template <class T>
  bool field(const T&, std::string_view name, Limit v) const {
    return unit_multiple(v.value) || n(v.value) >= span_ ||
           (name != "limit" && v.value == Limit::noleaktrace);
  }
  template <class T>
  bool field(const T&, std::string_view, const std::optional<Phys>& v) const {
    return !v || at(*v);
  }
  template <class T, class Other>  // nids, flags, switches, region types
  bool field(const T&, std::string_view, const Other&) const {
    return true;
  }

  Knobs k_;
  Phys span_;
};

}  // namespace

bool BruteForceModel::represents(const Op& op) const {
  return std::visit(Domain{knobs_, span()}, op);
}

std::optional<Outcome> BruteForceModel::run(const Op& op) {
  if (!represents(op))
    throw std::invalid_argument("outside the brute-force model's domain: " +
                                std::string(op_name(op)));
  Outcome outcome;
  if (discarded_) {
    outcome.status = Outcome::Status::refused;
    return outcome;
  }
  outcome.value = std::visit(Step{*this}, op);
  return outcome;
}

Snapshot BruteForceModel::snapshot() const {
  auto shown = [&](const Units& units) {
    RegionArray a;
    a.max = knobs_.init_regions;
    a.total_size = present_count(units) * unit();
    for (const Run& r : regions_of(units))
      a.regions.push_back(Region{r.begin * unit(), (r.end - r.begin) * unit(), r.flags, r.nid});
    // Before 6.11 an empty array holds one empty entry.
    if (a.regions.empty() && knobs_.empty_array_has_dummy)
      a.regions.push_back(Region{0, 0, 0, units.dummy_nid});
    a.cnt = a.regions.size();
    return a;
  };
  Snapshot s;
  s.memory = shown(memory_);
  s.reserved = shown(reserved_);
  s.bottom_up = bottom_up_;
  s.current_limit = current_limit_;
  s.can_resize = can_resize_;
  s.has_some_mirror = has_some_mirror_;
  s.discarded = discarded_;
  return s;
}

}  // namespace mbfuzz::oracle
