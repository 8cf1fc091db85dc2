// What the specification says each op returns, and the state it leaves.
#include <bit>

#include "oracle/model.hpp"

namespace mbfuzz::oracle {
namespace {

// Alignments are powers of two (0 asks for the default); anything else has
// no specified meaning.
bool specified_alignment(Phys align) { return align == 0 || std::has_single_bit(align); }

class Predict {
 public:
  explicit Predict(Model& m) : m_(m) {}

  // nullopt: the op lies outside the specification.
  std::optional<Value> operator()(const SetSlabAvailable& op) { m_.slab_available = op.on; return NoValue{}; }
  std::optional<Value> operator()(const SetMovableNode& op) { m_.movable_node = op.on; return NoValue{}; }
  std::optional<Value> operator()(const SetMirroredKernelcore& op) {
    m_.mirrored_kernelcore = op.on;
    return NoValue{};
  }

  std::optional<Value> operator()(const Add& op) {
    return Errno{m_.add_range(m_.memory, p(op.base), p(op.size), unassigned(), 0)};
  }
  std::optional<Value> operator()(const AddNode& op) {
    return Errno{m_.add_range(m_.memory, p(op.base), p(op.size), op.nid.value, op.flags.bits)};
  }
  std::optional<Value> operator()(const Remove& op) {
    return Errno{m_.remove_range(m_.memory, p(op.base), p(op.size))};
  }
  std::optional<Value> operator()(const Reserve& op) {
    return Errno{m_.add_range(m_.reserved, p(op.base), p(op.size), unassigned(), 0)};
  }
  // Freeing the reservation of memblock's own region array is the caller's
  // error: the next allocation may hand the array out and overwrite it.
  std::optional<Value> operator()(const PhysFree& op) {
    if (frees_a_region_array(p(op.base), p(op.size))) return std::nullopt;
    return Errno{m_.remove_range(m_.reserved, p(op.base), p(op.size))};
  }
  std::optional<Value> operator()(const Free& op) {
    if (op.ptr && frees_a_region_array(p(*op.ptr), p(op.size))) return std::nullopt;
    if (op.ptr) m_.remove_range(m_.reserved, p(*op.ptr), p(op.size));
    return NoValue{};
  }
  std::optional<Value> operator()(const MarkHotplug& op) { return flag(op, true, Flags::hotplug); }
  std::optional<Value> operator()(const ClearHotplug& op) { return flag(op, false, Flags::hotplug); }
  std::optional<Value> operator()(const MarkNomap& op) { return flag(op, true, Flags::nomap); }
  std::optional<Value> operator()(const ClearNomap& op) { return flag(op, false, Flags::nomap); }
  std::optional<Value> operator()(const MarkMirror& op) {
    if (!m_.mirrored_kernelcore) return Errno{0};  // mirroring was not asked for at boot
    m_.has_some_mirror = true;
    return flag(op, true, Flags::mirror);
  }
  std::optional<Value> operator()(const SetNode& op) {
    RegionArrayModel& array = op.type == RegionType::memory ? m_.memory : m_.reserved;
    return Errno{m_.set_node(array, p(op.base), p(op.size), op.nid.value)};
  }

  std::optional<Value> operator()(const TrimMemory& op) {
    Phys align = p(op.align);
    if (!std::has_single_bit(align)) return std::nullopt;
    m_.trim_memory(align);
    return NoValue{};
  }
  std::optional<Value> operator()(const EnforceMemoryLimit& op) {
    m_.enforce_memory_limit(p(op.limit));
    return NoValue{};
  }
  std::optional<Value> operator()(const CapMemoryRange& op) {
    m_.cap_memory_range(p(op.base), p(op.size));
    return NoValue{};
  }
  std::optional<Value> operator()(const MemLimitRemoveMap& op) {
    m_.mem_limit_remove_map(p(op.limit));
    return NoValue{};
  }
  std::optional<Value> operator()(const SetCurrentLimit& op) {
    m_.current_limit = p(op.limit.value);
    return NoValue{};
  }
  std::optional<Value> operator()(const SetBottomUp& op) { m_.bottom_up = op.enable; return NoValue{}; }
  std::optional<Value> operator()(const AllowResize&) { m_.can_resize = true; return NoValue{}; }

  std::optional<Value> operator()(const PhysAlloc& op) {
    return phys_alloc(op.size, op.align, 0, Limit::accessible, Nid::no_node, false);
  }
  std::optional<Value> operator()(const PhysAllocRange& op) {
    return phys_alloc(op.size, op.align, op.start, op.end.value, Nid::no_node, false);
  }
  std::optional<Value> operator()(const PhysAllocTryNid& op) {
    return phys_alloc(op.size, op.align, 0, Limit::accessible, op.nid.value, false);
  }
  std::optional<Value> operator()(const AllocRangeNid& op) {
    return phys_alloc(op.size, op.align, op.start, op.end.value, op.nid.value, op.exact_nid);
  }
  std::optional<Value> operator()(const Alloc& op) {
    return alloc(op.size, op.align, 0, Limit::accessible, Nid::no_node, false, true);
  }
  std::optional<Value> operator()(const AllocRaw& op) {
    return alloc(op.size, op.align, 0, Limit::accessible, Nid::no_node, false, false);
  }
  std::optional<Value> operator()(const AllocFrom& op) {
    return alloc(op.size, op.align, op.min, Limit::accessible, Nid::no_node, false, true);
  }
  std::optional<Value> operator()(const AllocLow& op) {
    return alloc(op.size, op.align, 0, m_.knobs().low_limit, Nid::no_node, false, true);
  }
  std::optional<Value> operator()(const AllocNode& op) {
    return alloc(op.size, op.align, 0, Limit::accessible, op.nid.value, false, true);
  }
  std::optional<Value> operator()(const AllocTryNid& op) {
    return alloc(op.size, op.align, op.min, op.max.value, op.nid.value, false, true);
  }
  std::optional<Value> operator()(const AllocTryNidRaw& op) {
    return alloc(op.size, op.align, op.min, op.max.value, op.nid.value, false, false);
  }
  std::optional<Value> operator()(const AllocExactNidRaw& op) {
    return alloc(op.size, op.align, op.min, op.max.value, op.nid.value, true, false);
  }

  std::optional<Value> operator()(const OverlapsRegion& op) {
    const RegionArrayModel& array = op.type == RegionType::memory ? m_.memory : m_.reserved;
    return Truth{intersects(array, p(op.base), p(op.size))};
  }
  std::optional<Value> operator()(const IsRegionReserved& op) {
    return Truth{intersects(m_.reserved, p(op.base), p(op.size))};
  }
  std::optional<Value> operator()(const IsMemory& op) { return Truth{containing(m_.memory, p(op.addr)) != nullptr}; }
  std::optional<Value> operator()(const IsReserved& op) {
    return Truth{containing(m_.reserved, p(op.addr)) != nullptr};
  }
  std::optional<Value> operator()(const IsMapMemory& op) {
    const auto* region = containing(m_.memory, p(op.addr));
    return Truth{region != nullptr && !(region->second.flags & Flags::nomap)};
  }
  // A subset of one memory region.
  std::optional<Value> operator()(const IsRegionMemory& op) {
    const Phys base = p(op.base);
    const auto* region = containing(m_.memory, base);
    return Truth{region != nullptr && icl::upper(region->first) >= base + m_.cap(base, p(op.size))};
  }
  std::optional<Value> operator()(const PhysMemSize&) { return Address{m_.memory.total_size()}; }
  std::optional<Value> operator()(const ReservedSize&) { return Address{m_.reserved.total_size()}; }
  // The first and the last region's bounds; 0 for an array holding only its dummy entry.
  std::optional<Value> operator()(const StartOfDram&) {
    auto entries = m_.memory.entries();
    return Address{entries.empty() ? 0 : entries.front().base};
  }
  std::optional<Value> operator()(const EndOfDram&) {
    auto entries = m_.memory.entries();
    return Address{entries.empty() ? 0 : entries.back().end()};
  }
  std::optional<Value> operator()(const SearchPfnNid& op) {
    const Phys page = m_.knobs().page_size;
    const auto* region = containing(m_.memory, p(p(op.pfn) * page));
    if (region == nullptr) return PfnNid{};
    return PfnNid{region->second.nid, icl::lower(region->first) / page, icl::upper(region->first) / page};
  }
  std::optional<Value> operator()(const FreeRanges& op) {
    std::vector<Range> ranges = m_.free_ranges(op.nid.value, op.flags.bits);
    if (op.reverse) std::reverse(ranges.begin(), ranges.end());
    return Ranges{std::move(ranges)};
  }
  // Whole pages of each memory region, on the node asked for (MAX_NUMNODES: all).
  std::optional<Value> operator()(const MemPfnRanges& op) {
    const Phys page = m_.knobs().page_size;
    Ranges out;
    for (const auto& [iv, region] : m_.memory.regions) {
      const std::uint64_t start = m_.pfn_up(icl::lower(iv)), end = icl::upper(iv) / page;
      if (start < end && (op.nid.value == m_.knobs().max_numnodes || op.nid.value == region.nid))
        out.ranges.push_back(Range{start, end, region.nid});
    }
    return out;
  }
  std::optional<Value> operator()(const FreeAll& op) { return m_.free_all(op.max_low_pfn); }
  std::optional<Value> operator()(const Discard&) { return m_.discard(); }

  // memblock's model answers bootmem's calls as the calls nobootmem makes (core/nobootmem.hpp).
  template <class T>
    requires is_bootmem_op_v<T>
  std::optional<Value> operator()(const T&) {
    throw std::logic_error(std::string(T::name) + " reaches memblock's model only through nobootmem's calls");
  }

 private:
  Phys p(Phys v) const { return m_.phys(v); }
  int unassigned() const { return m_.unassigned_node(); }

  template <class RangeOp>
  std::optional<Value> flag(const RangeOp& op, bool set, std::uint32_t which) {
    return Errno{m_.set_flag(p(op.base), p(op.size), set, which)};
  }

  std::optional<Value> phys_alloc(Phys size, Phys align, Phys start, Phys end, int nid, bool exact) {
    if (!specified_alignment(p(align))) return std::nullopt;
    return Address{m_.alloc_range_nid(p(size), p(align), p(start), p(end), nid, exact)};
  }

  std::optional<Value> alloc(Phys size, Phys align, Phys min, Phys max, int nid, bool exact, bool zeroing) {
    if (!specified_alignment(p(align))) return std::nullopt;
    return m_.alloc_internal(p(size), p(align), p(min), p(max), nid, exact, zeroing);
  }

  // [base, base + size) (capped) covers part of a region array that
  // memblock_double_array() placed in memblock's own memory.
  bool frees_a_region_array(Phys base, Phys size) const {
    const Phys end = base + m_.cap(base, size);
    for (const RegionArrayModel* array : {&m_.memory, &m_.reserved}) {
      if (array->in_static_array || array->in_slab) continue;
      const Phys page = m_.knobs().page_size;
      const Phys bytes = (array->max * m_.knobs().region_size + page - 1) / page * page;
      if (base < array->array_addr + bytes && array->array_addr < end) return true;
    }
    return false;
  }

  // [base, base + size) (capped) shares at least one byte with a region.
  bool intersects(const RegionArrayModel& array, Phys base, Phys size) const {
    size = m_.cap(base, size);
    return size != 0 && icl::intersects(array.covered(), interval(base, base + size));
  }

  // The region containing addr, if any.
  static const std::pair<const Interval, Attributes>* containing(const RegionArrayModel& array, Phys addr) {
    auto it = array.region_at(addr);
    return it == array.regions.end() ? nullptr : &*it;
  }

  Model& m_;
};

}  // namespace

std::optional<Outcome> Model::run(const Op& op) {
  Outcome outcome;
  if (discarded) {
    outcome.status = Outcome::Status::refused;
    return outcome;
  }
  // Ops outside the specification are recognised before anything changes.
  try {
    std::optional<Value> value = std::visit(Predict{*this}, op);
    if (!value) return std::nullopt;
    outcome.value = std::move(*value);
  } catch (const ArrayReservationFailed&) {
    outcome.status = Outcome::Status::aborted;  // BUG_ON in memblock_double_array
  }
  return outcome;
}

Snapshot Model::snapshot() const {
  auto shown = [](const RegionArrayModel& a) {
    mbfuzz::RegionArray out;
    out.cnt = a.cnt();
    out.max = a.max;
    out.total_size = a.total_size();
    out.in_static_array = a.in_static_array;
    out.regions = a.entries();
    return out;
  };
  Snapshot s;
  s.memory = shown(memory);
  s.reserved = shown(reserved);
  s.bottom_up = bottom_up;
  s.current_limit = current_limit;
  s.can_resize = can_resize;
  s.has_some_mirror = has_some_mirror;
  s.discarded = discarded;
  return s;
}

}  // namespace mbfuzz::oracle
