#include "core/production.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/host.hpp"
#include "core/kernel/memblock_bridge.h"

namespace mbfuzz {
namespace {

bool& in_use(const Variant& variant) {
  static bool flags[8];
  auto variants = all_variants();
  return flags[static_cast<std::size_t>(&variant - variants.data())];
}

mb_region_type to_bridge(RegionType t) { return t == RegionType::reserved ? MB_RESERVED : MB_MEMORY; }

void collect_range(void* ctx, uint64_t start, uint64_t end, int nid) {
  static_cast<Ranges*>(ctx)->ranges.push_back(Range{start, end, nid});
}

// One memblock call per op; returns the call's status and fills `value`.
class Caller {
 public:
  Caller(const mb_kernel& k, Phys phys_mask) : k_(k), phys_mask_(phys_mask) {}

  Value value;

  int operator()(const SetSlabAvailable& op) { return done(k_.set_slab_available(op.on)); }
  int operator()(const SetMovableNode& op) { return done(k_.set_movable_node(op.on)); }
  int operator()(const SetMirroredKernelcore& op) { return done(k_.set_mirrored_kernelcore(op.on)); }

  int operator()(const Add& op) { return err(k_.add, op.base, op.size); }
  int operator()(const AddNode& op) {
    return err(k_.add_node, op.base, op.size, op.nid.value, op.flags.bits);
  }
  int operator()(const Remove& op) { return err(k_.remove, op.base, op.size); }
  int operator()(const Reserve& op) { return err(k_.reserve, op.base, op.size); }
  int operator()(const PhysFree& op) { return err(k_.phys_free, op.base, op.size); }
  int operator()(const Free& op) {
    return done(k_.free_virt(op.ptr.has_value(), op.ptr.value_or(0), op.size));
  }
  int operator()(const MarkHotplug& op) { return err(k_.mark_hotplug, op.base, op.size); }
  int operator()(const ClearHotplug& op) { return err(k_.clear_hotplug, op.base, op.size); }
  int operator()(const MarkMirror& op) { return err(k_.mark_mirror, op.base, op.size); }
  int operator()(const MarkNomap& op) { return err(k_.mark_nomap, op.base, op.size); }
  int operator()(const ClearNomap& op) { return err(k_.clear_nomap, op.base, op.size); }
  int operator()(const SetNode& op) {
    return err(k_.set_node, op.base, op.size, to_bridge(op.type), op.nid.value);
  }

  int operator()(const TrimMemory& op) { return done(k_.trim_memory(op.align)); }
  int operator()(const EnforceMemoryLimit& op) { return done(k_.enforce_memory_limit(op.limit)); }
  int operator()(const CapMemoryRange& op) { return done(k_.cap_memory_range(op.base, op.size)); }
  int operator()(const MemLimitRemoveMap& op) { return done(k_.mem_limit_remove_map(op.limit)); }
  int operator()(const SetCurrentLimit& op) { return done(k_.set_current_limit(op.limit.value)); }
  int operator()(const SetBottomUp& op) { return done(k_.set_bottom_up(op.enable)); }
  int operator()(const AllowResize&) { return done(k_.allow_resize()); }

  int operator()(const PhysAlloc& op) { return addr(k_.phys_alloc, op.size, op.align); }
  int operator()(const PhysAllocRange& op) {
    return addr(k_.phys_alloc_range, op.size, op.align, op.start, op.end.value);
  }
  int operator()(const PhysAllocTryNid& op) {
    return addr(k_.phys_alloc_try_nid, op.size, op.align, op.nid.value);
  }
  int operator()(const AllocRangeNid& op) {
    return addr(k_.alloc_range_nid, op.size, op.align, op.start, op.end.value, op.nid.value,
                int{op.exact_nid});
  }
  int operator()(const Alloc& op) { return virt(op, k_.alloc, op.size, op.align); }
  int operator()(const AllocRaw& op) { return virt(op, k_.alloc_raw, op.size, op.align); }
  int operator()(const AllocFrom& op) { return virt(op, k_.alloc_from, op.size, op.align, op.min); }
  int operator()(const AllocLow& op) { return virt(op, k_.alloc_low, op.size, op.align); }
  int operator()(const AllocNode& op) {
    return virt(op, k_.alloc_node, op.size, op.align, op.nid.value);
  }
  int operator()(const AllocTryNid& op) {
    return virt(op, k_.alloc_try_nid, op.size, op.align, op.min, op.max.value, op.nid.value);
  }
  int operator()(const AllocTryNidRaw& op) {
    return virt(op, k_.alloc_try_nid_raw, op.size, op.align, op.min, op.max.value, op.nid.value);
  }
  int operator()(const AllocExactNidRaw& op) {
    return virt(op, k_.alloc_exact_nid_raw, op.size, op.align, op.min, op.max.value, op.nid.value);
  }

  int operator()(const OverlapsRegion& op) {
    return truth(k_.overlaps_region, to_bridge(op.type), op.base, op.size);
  }
  int operator()(const IsRegionReserved& op) { return truth(k_.is_region_reserved, op.base, op.size); }
  int operator()(const IsMemory& op) { return truth(k_.is_memory, op.addr); }
  int operator()(const IsMapMemory& op) { return truth(k_.is_map_memory, op.addr); }
  int operator()(const IsRegionMemory& op) { return truth(k_.is_region_memory, op.base, op.size); }
  int operator()(const IsReserved& op) { return truth(k_.is_reserved, op.addr); }
  int operator()(const PhysMemSize&) { return addr(k_.phys_mem_size); }
  int operator()(const ReservedSize&) { return addr(k_.reserved_size); }
  int operator()(const StartOfDram&) { return addr(k_.start_of_dram); }
  int operator()(const EndOfDram&) { return addr(k_.end_of_dram); }
  int operator()(const SearchPfnNid& op) {
    PfnNid r;
    int status = k_.search_pfn_nid(op.pfn, &r.nid, &r.start_pfn, &r.end_pfn);
    value = r;
    return status;
  }
  int operator()(const FreeRanges& op) {
    Ranges r;
    int status = k_.free_ranges(op.nid.value, op.flags.bits, op.reverse, collect_range, &r);
    value = std::move(r);
    return status;
  }
  int operator()(const MemPfnRanges& op) {
    Ranges r;
    int status = k_.mem_pfn_ranges(op.nid.value, collect_range, &r);
    value = std::move(r);
    return status;
  }

  int operator()(const FreeAll& op) { return buddy(k_.free_all(op.max_low_pfn)); }
  int operator()(const Discard&) { return buddy(k_.discard()); }

  // memblock answers bootmem's calls as a sequence of its own (core/nobootmem.hpp).
  template <class T>
    requires is_bootmem_op_v<T>
  int operator()(const T&) {
    throw std::logic_error(std::string(T::name) + " reaches memblock only through nobootmem's calls");
  }

 private:
  int done(int status) {
    value = NoValue{};
    return status;
  }

  template <class Fn, class... Args>
  int err(Fn fn, Args... args) {
    int ret = 0;
    int status = fn(args..., &ret);
    value = Errno{ret};
    return status;
  }

  template <class Fn, class... Args>
  int truth(Fn fn, Args... args) {
    int ret = 0;
    int status = fn(args..., &ret);
    value = Truth{ret != 0};
    return status;
  }

  template <class Fn, class... Args>
  int addr(Fn fn, Args... args) {
    uint64_t ret = 0;
    int status = fn(args..., &ret);
    value = Address{ret};
    return status;
  }

  template <class OpT, class Fn, class... Args>
  int virt(const OpT& op, Fn fn, Args... args) {
    void* ptr = nullptr;
    int status = fn(args..., &ptr);
    Allocation a;
    if (ptr == nullptr) {
      a.kind = Allocation::Kind::null;
    } else if (host::is_slab_object(ptr)) {
      a.kind = Allocation::Kind::slab;
    } else {
      a.kind = Allocation::Kind::memory;
      a.addr = mb_host_virt_to_phys(ptr);
      if constexpr (zeroing_alloc_v<OpT>)
        a.zeroed = host::zeroed_during_call(a.addr, a.addr + (op.size & phys_mask_));
    }
    value = a;
    return status;
  }

  int buddy(int status) {
    value = host::recording().buddy;
    return status;
  }

  const mb_kernel& k_;
  Phys phys_mask_;
};

}  // namespace

ProductionMemblock::ProductionMemblock(const Variant& variant) : variant_(variant) {
  if (in_use(variant_))
    throw std::logic_error("a ProductionMemblock for variant " + std::string(variant_.name()) +
                           " already exists");
  in_use(variant_) = true;
  reset();
}

ProductionMemblock::~ProductionMemblock() {
  host::reset_memory();  // kmalloc'd objects belong to this run
  in_use(variant_) = false;
}

void ProductionMemblock::reset() {
  variant_.kernel().reset();
  host::reset_memory();
  host::start_recording();
  log_.clear();
  discarded_arrays_.reset();
}

Outcome ProductionMemblock::run(const Op& op) {
  Outcome outcome;
  host::start_recording();
  if (discarded()) {
    outcome.status = Outcome::Status::refused;
    return outcome;
  }
  if (std::holds_alternative<Discard>(op)) discarded_arrays_ = snapshot();
  Caller caller(variant_.kernel(), variant_.build().phys_addr_max());
  int status = std::visit(caller, op);
  outcome.status = status == MB_DONE ? Outcome::Status::completed : Outcome::Status::aborted;
  outcome.value = std::move(caller.value);
  outcome.events = host::recording().events;
  log_ = host::recording().log;
  return outcome;
}

std::vector<std::string> ProductionMemblock::own_dump() {
  if (discarded()) return {};
  host::start_recording();
  variant_.kernel().dump();
  return host::recording().log;
}

bool ProductionMemblock::discarded() const {
  mb_globals g{};
  variant_.kernel().globals(&g);
  return g.discarded != 0;
}

Snapshot ProductionMemblock::snapshot() const {
  const mb_kernel& k = variant_.kernel();
  Snapshot s;
  mb_globals g{};
  k.globals(&g);
  s.bottom_up = g.bottom_up != 0;
  s.current_limit = g.current_limit;
  s.can_resize = g.can_resize != 0;
  s.has_some_mirror = g.has_some_mirror != 0;
  s.discarded = g.discarded != 0;

  auto read = [&k](mb_region_type type, RegionArray& out) {
    mb_type_info info{};
    k.type_info(type, &info);
    out.cnt = info.cnt;
    out.max = info.max;
    out.total_size = info.total_size;
    out.in_static_array = info.in_static_array != 0;
    std::vector<mb_region> raw(info.cnt);
    k.regions(type, raw.data(), raw.size());
    out.regions.reserve(raw.size());
    for (const mb_region& r : raw) out.regions.push_back(Region{r.base, r.size, r.flags, r.nid});
  };
  if (s.discarded && discarded_arrays_) {
    s.memory = discarded_arrays_->memory;
    s.reserved = discarded_arrays_->reserved;
    return s;
  }
  read(MB_MEMORY, s.memory);
  read(MB_RESERVED, s.reserved);
  return s;
}

}  // namespace mbfuzz
