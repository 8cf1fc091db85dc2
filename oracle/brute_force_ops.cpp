// The brute-force model seen through the op vocabulary: which ops it can
// represent, and what each does (the model itself is in brute_force.cpp).
#include "oracle/brute_force.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace mbfuzz::oracle {

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
    m_.trim(n(op.align));
    return NoValue{};
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
    m_.cap(n(op.base), n(op.size));
    return NoValue{};
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
    m_.discarded_ = true;
    return BuddyRelease{};
  }
  template <class T>
    requires is_bootmem_op_v<T>
  Value operator()(const T&) {
    throw std::logic_error("outside the brute-force model's domain: " + std::string(T::name));
  }

 private:
  static constexpr int kAnyNode = Nid::no_node;
  Phys n(Phys v) const { return m_.narrow(v); }
  Phys page() const { return m_.knobs_.page_size; }
  static Value set(bool& sw, bool on) {
    sw = on;
    return NoValue{};
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
    if constexpr (is_bootmem_op_v<T>) return false;  // memblock's calls only
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
