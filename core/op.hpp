// The op vocabulary: one small struct per memblock call. Every producer
// (byte decoder, text trace, generators, boot layouts, kernel logs) makes Ops
// and every consumer (production memblock, oracle, printers, test emitter)
// takes them; adding an operation is one struct here and one case in each
// consumer, which std::visit enforces.
//
// Each struct names its trace keyword and lists its fields in the order of
// the kernel function's parameters; the trace parser and printer are written
// once, over these lists.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>

namespace mbfuzz {

using Phys = std::uint64_t;

// Field types whose text differs from a plain number.

// An allocation's upper bound: MEMBLOCK_ALLOC_ANYWHERE, _ACCESSIBLE, _NOLEAKTRACE or an address.
struct Limit {
  Phys value = 0;
  static constexpr Phys anywhere = ~Phys{0};  // truncated to ~(phys_addr_t)0 by 32-bit variants
  static constexpr Phys accessible = 0;
  static constexpr Phys noleaktrace = 1;
  bool operator==(const Limit&) const = default;
};

// A NUMA node id; NUMA_NO_NODE is -1.
struct Nid {
  int value = -1;
  static constexpr int no_node = -1;
  bool operator==(const Nid&) const = default;
};

// enum memblock_flags.
struct Flags {
  std::uint32_t bits = 0;
  static constexpr std::uint32_t none = 0x0;
  static constexpr std::uint32_t hotplug = 0x1;
  static constexpr std::uint32_t mirror = 0x2;
  static constexpr std::uint32_t nomap = 0x4;
  static constexpr std::uint32_t driver_managed = 0x8;
  bool operator==(const Flags&) const = default;
};

enum class RegionType { memory, reserved };

// A field of an op: its name in traces and where it lives.
template <class Op, class T>
struct Field {
  std::string_view name;
  T Op::*member;
};
// Spelled out for compilers without deduction for aggregates (clang < 17).
template <class Op, class T>
Field(std::string_view, T Op::*) -> Field<Op, T>;

#define MBFUZZ_OP_COMMON(Type, keyword) \
  static constexpr std::string_view name = keyword; \
  bool operator==(const Type&) const = default

// ---- the environment memblock runs in ----------------------------------------

// slab_is_available(): once true, allocations and array doubling go to kmalloc.
struct SetSlabAvailable {
  MBFUZZ_OP_COMMON(SetSlabAvailable, "slab_available");
  bool on = false;
  static constexpr auto fields() { return std::tuple{Field{"on", &SetSlabAvailable::on}}; }
};

// The movable_node kernel parameter: allocations avoid MEMBLOCK_HOTPLUG memory.
struct SetMovableNode {
  MBFUZZ_OP_COMMON(SetMovableNode, "movable_node");
  bool on = false;
  static constexpr auto fields() { return std::tuple{Field{"on", &SetMovableNode::on}}; }
};

// kernelcore=mirror: without it memblock_mark_mirror() does nothing.
struct SetMirroredKernelcore {
  MBFUZZ_OP_COMMON(SetMirroredKernelcore, "mirrored_kernelcore");
  bool on = false;
  static constexpr auto fields() { return std::tuple{Field{"on", &SetMirroredKernelcore::on}}; }
};

// ---- adding and removing ranges ---------------------------------------------

#define MBFUZZ_RANGE_OP(Type, keyword)                                        \
  struct Type {                                                               \
    MBFUZZ_OP_COMMON(Type, keyword);                                          \
    Phys base = 0;                                                            \
    Phys size = 0;                                                            \
    static constexpr auto fields() {                                          \
      return std::tuple{Field{"base", &Type::base}, Field{"size", &Type::size}}; \
    }                                                                         \
  }

MBFUZZ_RANGE_OP(Add, "add");                      // memblock_add
MBFUZZ_RANGE_OP(Remove, "remove");                // memblock_remove
MBFUZZ_RANGE_OP(Reserve, "reserve");              // memblock_reserve
MBFUZZ_RANGE_OP(PhysFree, "phys_free");           // memblock_phys_free
MBFUZZ_RANGE_OP(MarkHotplug, "mark_hotplug");     // memblock_mark_hotplug
MBFUZZ_RANGE_OP(ClearHotplug, "clear_hotplug");   // memblock_clear_hotplug
MBFUZZ_RANGE_OP(MarkMirror, "mark_mirror");       // memblock_mark_mirror
MBFUZZ_RANGE_OP(MarkNomap, "mark_nomap");         // memblock_mark_nomap
MBFUZZ_RANGE_OP(ClearNomap, "clear_nomap");       // memblock_clear_nomap
MBFUZZ_RANGE_OP(CapMemoryRange, "cap_memory_range");  // memblock_cap_memory_range
MBFUZZ_RANGE_OP(IsRegionReserved, "is_region_reserved");  // memblock_is_region_reserved
MBFUZZ_RANGE_OP(IsRegionMemory, "is_region_memory");      // memblock_is_region_memory

// memblock_add_node
struct AddNode {
  MBFUZZ_OP_COMMON(AddNode, "add_node");
  Phys base = 0;
  Phys size = 0;
  Nid nid;
  Flags flags;
  static constexpr auto fields() {
    return std::tuple{Field{"base", &AddNode::base}, Field{"size", &AddNode::size},
                      Field{"nid", &AddNode::nid}, Field{"flags", &AddNode::flags}};
  }
};

// memblock_free(ptr, size): the pointer is __va(ptr), or NULL when absent.
struct Free {
  MBFUZZ_OP_COMMON(Free, "free");
  std::optional<Phys> ptr;
  Phys size = 0;
  static constexpr auto fields() {
    return std::tuple{Field{"ptr", &Free::ptr}, Field{"size", &Free::size}};
  }
};

// memblock_set_node(base, size, &memblock.<type>, nid)
struct SetNode {
  MBFUZZ_OP_COMMON(SetNode, "set_node");
  Phys base = 0;
  Phys size = 0;
  RegionType type = RegionType::memory;
  Nid nid;
  static constexpr auto fields() {
    return std::tuple{Field{"base", &SetNode::base}, Field{"size", &SetNode::size},
                      Field{"type", &SetNode::type}, Field{"nid", &SetNode::nid}};
  }
};

// ---- whole-map transformations ------------------------------------------------

// memblock_trim_memory
struct TrimMemory {
  MBFUZZ_OP_COMMON(TrimMemory, "trim_memory");
  Phys align = 0;
  static constexpr auto fields() { return std::tuple{Field{"align", &TrimMemory::align}}; }
};

// memblock_enforce_memory_limit
struct EnforceMemoryLimit {
  MBFUZZ_OP_COMMON(EnforceMemoryLimit, "enforce_memory_limit");
  Phys limit = 0;
  static constexpr auto fields() { return std::tuple{Field{"limit", &EnforceMemoryLimit::limit}}; }
};

// memblock_mem_limit_remove_map
struct MemLimitRemoveMap {
  MBFUZZ_OP_COMMON(MemLimitRemoveMap, "mem_limit_remove_map");
  Phys limit = 0;
  static constexpr auto fields() { return std::tuple{Field{"limit", &MemLimitRemoveMap::limit}}; }
};

// memblock_set_current_limit
struct SetCurrentLimit {
  MBFUZZ_OP_COMMON(SetCurrentLimit, "set_current_limit");
  Limit limit;
  static constexpr auto fields() { return std::tuple{Field{"limit", &SetCurrentLimit::limit}}; }
};

// memblock_set_bottom_up
struct SetBottomUp {
  MBFUZZ_OP_COMMON(SetBottomUp, "set_bottom_up");
  bool enable = false;
  static constexpr auto fields() { return std::tuple{Field{"enable", &SetBottomUp::enable}}; }
};

// memblock_allow_resize
struct AllowResize {
  MBFUZZ_OP_COMMON(AllowResize, "allow_resize");
  static constexpr auto fields() { return std::tuple{}; }
};

// ---- allocation -----------------------------------------------------------------

#define MBFUZZ_SIZE_ALIGN_OP(Type, keyword)                                        \
  struct Type {                                                                    \
    MBFUZZ_OP_COMMON(Type, keyword);                                               \
    Phys size = 0;                                                                 \
    Phys align = 0;                                                                \
    static constexpr auto fields() {                                               \
      return std::tuple{Field{"size", &Type::size}, Field{"align", &Type::align}}; \
    }                                                                              \
  }

MBFUZZ_SIZE_ALIGN_OP(PhysAlloc, "phys_alloc");  // memblock_phys_alloc
MBFUZZ_SIZE_ALIGN_OP(Alloc, "alloc");           // memblock_alloc (zeroed)
MBFUZZ_SIZE_ALIGN_OP(AllocRaw, "alloc_raw");    // memblock_alloc_raw
MBFUZZ_SIZE_ALIGN_OP(AllocLow, "alloc_low");    // memblock_alloc_low (zeroed)

// memblock_phys_alloc_range
struct PhysAllocRange {
  MBFUZZ_OP_COMMON(PhysAllocRange, "phys_alloc_range");
  Phys size = 0;
  Phys align = 0;
  Phys start = 0;
  Limit end;
  static constexpr auto fields() {
    return std::tuple{Field{"size", &PhysAllocRange::size}, Field{"align", &PhysAllocRange::align},
                      Field{"start", &PhysAllocRange::start}, Field{"end", &PhysAllocRange::end}};
  }
};

// memblock_phys_alloc_try_nid
struct PhysAllocTryNid {
  MBFUZZ_OP_COMMON(PhysAllocTryNid, "phys_alloc_try_nid");
  Phys size = 0;
  Phys align = 0;
  Nid nid;
  static constexpr auto fields() {
    return std::tuple{Field{"size", &PhysAllocTryNid::size},
                      Field{"align", &PhysAllocTryNid::align}, Field{"nid", &PhysAllocTryNid::nid}};
  }
};

// memblock_alloc_range_nid
struct AllocRangeNid {
  MBFUZZ_OP_COMMON(AllocRangeNid, "alloc_range_nid");
  Phys size = 0;
  Phys align = 0;
  Phys start = 0;
  Limit end;
  Nid nid;
  bool exact_nid = false;
  static constexpr auto fields() {
    return std::tuple{Field{"size", &AllocRangeNid::size}, Field{"align", &AllocRangeNid::align},
                      Field{"start", &AllocRangeNid::start}, Field{"end", &AllocRangeNid::end},
                      Field{"nid", &AllocRangeNid::nid},
                      Field{"exact_nid", &AllocRangeNid::exact_nid}};
  }
};

// memblock_alloc_from (zeroed)
struct AllocFrom {
  MBFUZZ_OP_COMMON(AllocFrom, "alloc_from");
  Phys size = 0;
  Phys align = 0;
  Phys min = 0;
  static constexpr auto fields() {
    return std::tuple{Field{"size", &AllocFrom::size}, Field{"align", &AllocFrom::align},
                      Field{"min", &AllocFrom::min}};
  }
};

// memblock_alloc_node (zeroed)
struct AllocNode {
  MBFUZZ_OP_COMMON(AllocNode, "alloc_node");
  Phys size = 0;
  Phys align = 0;
  Nid nid;
  static constexpr auto fields() {
    return std::tuple{Field{"size", &AllocNode::size}, Field{"align", &AllocNode::align},
                      Field{"nid", &AllocNode::nid}};
  }
};

#define MBFUZZ_TRY_NID_OP(Type, keyword)                                                \
  struct Type {                                                                         \
    MBFUZZ_OP_COMMON(Type, keyword);                                                    \
    Phys size = 0;                                                                      \
    Phys align = 0;                                                                     \
    Phys min = 0;                                                                       \
    Limit max;                                                                          \
    Nid nid;                                                                            \
    static constexpr auto fields() {                                                    \
      return std::tuple{Field{"size", &Type::size}, Field{"align", &Type::align},       \
                        Field{"min", &Type::min}, Field{"max", &Type::max},             \
                        Field{"nid", &Type::nid}};                                      \
    }                                                                                   \
  }

MBFUZZ_TRY_NID_OP(AllocTryNid, "alloc_try_nid");              // memblock_alloc_try_nid (zeroed)
MBFUZZ_TRY_NID_OP(AllocTryNidRaw, "alloc_try_nid_raw");       // memblock_alloc_try_nid_raw
MBFUZZ_TRY_NID_OP(AllocExactNidRaw, "alloc_exact_nid_raw");   // memblock_alloc_exact_nid_raw

// ---- queries ----------------------------------------------------------------------

// memblock_overlaps_region(&memblock.<type>, base, size)
struct OverlapsRegion {
  MBFUZZ_OP_COMMON(OverlapsRegion, "overlaps_region");
  RegionType type = RegionType::memory;
  Phys base = 0;
  Phys size = 0;
  static constexpr auto fields() {
    return std::tuple{Field{"type", &OverlapsRegion::type}, Field{"base", &OverlapsRegion::base},
                      Field{"size", &OverlapsRegion::size}};
  }
};

#define MBFUZZ_ADDR_QUERY_OP(Type, keyword)                                   \
  struct Type {                                                               \
    MBFUZZ_OP_COMMON(Type, keyword);                                          \
    Phys addr = 0;                                                            \
    static constexpr auto fields() { return std::tuple{Field{"addr", &Type::addr}}; } \
  }

MBFUZZ_ADDR_QUERY_OP(IsMemory, "is_memory");          // memblock_is_memory
MBFUZZ_ADDR_QUERY_OP(IsMapMemory, "is_map_memory");   // memblock_is_map_memory
MBFUZZ_ADDR_QUERY_OP(IsReserved, "is_reserved");      // memblock_is_reserved

#define MBFUZZ_NULLARY_OP(Type, keyword)                        \
  struct Type {                                                 \
    MBFUZZ_OP_COMMON(Type, keyword);                            \
    static constexpr auto fields() { return std::tuple{}; }     \
  }

MBFUZZ_NULLARY_OP(PhysMemSize, "phys_mem_size");    // memblock_phys_mem_size
MBFUZZ_NULLARY_OP(ReservedSize, "reserved_size");   // memblock_reserved_size
MBFUZZ_NULLARY_OP(StartOfDram, "start_of_DRAM");    // memblock_start_of_DRAM
MBFUZZ_NULLARY_OP(EndOfDram, "end_of_DRAM");        // memblock_end_of_DRAM
MBFUZZ_NULLARY_OP(Discard, "discard");              // memblock_discard

// memblock_search_pfn_nid
struct SearchPfnNid {
  MBFUZZ_OP_COMMON(SearchPfnNid, "search_pfn_nid");
  std::uint64_t pfn = 0;
  static constexpr auto fields() { return std::tuple{Field{"pfn", &SearchPfnNid::pfn}}; }
};

// for_each_free_mem_range[_reverse](nid, flags): memory minus reserved, in walk order.
struct FreeRanges {
  MBFUZZ_OP_COMMON(FreeRanges, "free_ranges");
  Nid nid;
  Flags flags;
  bool reverse = false;
  static constexpr auto fields() {
    return std::tuple{Field{"nid", &FreeRanges::nid}, Field{"flags", &FreeRanges::flags},
                      Field{"reverse", &FreeRanges::reverse}};
  }
};

// for_each_mem_pfn_range(nid): MAX_NUMNODES selects every node.
struct MemPfnRanges {
  MBFUZZ_OP_COMMON(MemPfnRanges, "mem_pfn_ranges");
  Nid nid;
  static constexpr auto fields() { return std::tuple{Field{"nid", &MemPfnRanges::nid}}; }
};

// memblock_free_all with the given max_low_pfn: the hand-off to the buddy allocator.
struct FreeAll {
  MBFUZZ_OP_COMMON(FreeAll, "free_all");
  std::uint64_t max_low_pfn = 0;
  static constexpr auto fields() { return std::tuple{Field{"max_low_pfn", &FreeAll::max_low_pfn}}; }
};

// ---- bootmem: the allocator memblock replaced (core/kernel/bootmem.c) -----------
// Page-granular, one bitmap per node; docs/allocators.md sets its semantics
// beside memblock's. A sequence of these runs on bootmem and, call for call,
// on memblock as a kernel without bootmem answered them (core/nobootmem.hpp).

// init_bootmem_node(NODE_DATA(nid), map_pfn, start_pfn, end_pfn): every page reserved.
struct InitBootmemNode {
  MBFUZZ_OP_COMMON(InitBootmemNode, "init_bootmem_node");
  Nid nid;
  std::uint64_t start_pfn = 0;
  std::uint64_t end_pfn = 0;
  std::uint64_t map_pfn = 0;
  static constexpr auto fields() {
    return std::tuple{Field{"nid", &InitBootmemNode::nid}, Field{"start_pfn", &InitBootmemNode::start_pfn},
                      Field{"end_pfn", &InitBootmemNode::end_pfn}, Field{"map_pfn", &InitBootmemNode::map_pfn}};
  }
};

MBFUZZ_RANGE_OP(FreeBootmem, "free_bootmem");  // free_bootmem(addr, size): whole pages inside

// free_bootmem_node(NODE_DATA(nid), addr, size)
struct FreeBootmemNode {
  MBFUZZ_OP_COMMON(FreeBootmemNode, "free_bootmem_node");
  Nid nid;
  Phys base = 0;
  Phys size = 0;
  static constexpr auto fields() {
    return std::tuple{Field{"nid", &FreeBootmemNode::nid}, Field{"base", &FreeBootmemNode::base},
                      Field{"size", &FreeBootmemNode::size}};
  }
};

// reserve_bootmem(addr, size, exclusive ? BOOTMEM_EXCLUSIVE : BOOTMEM_DEFAULT): every page touched
struct ReserveBootmem {
  MBFUZZ_OP_COMMON(ReserveBootmem, "reserve_bootmem");
  Phys base = 0;
  Phys size = 0;
  bool exclusive = false;
  static constexpr auto fields() {
    return std::tuple{Field{"base", &ReserveBootmem::base}, Field{"size", &ReserveBootmem::size},
                      Field{"exclusive", &ReserveBootmem::exclusive}};
  }
};

// reserve_bootmem_node(NODE_DATA(nid), addr, size, flags)
struct ReserveBootmemNode {
  MBFUZZ_OP_COMMON(ReserveBootmemNode, "reserve_bootmem_node");
  Nid nid;
  Phys base = 0;
  Phys size = 0;
  bool exclusive = false;
  static constexpr auto fields() {
    return std::tuple{Field{"nid", &ReserveBootmemNode::nid}, Field{"base", &ReserveBootmemNode::base},
                      Field{"size", &ReserveBootmemNode::size},
                      Field{"exclusive", &ReserveBootmemNode::exclusive}};
  }
};

// ___alloc_bootmem_nopanic(size, align, goal, limit): zeroed; limit 0 is none
struct AllocBootmem {
  MBFUZZ_OP_COMMON(AllocBootmem, "alloc_bootmem");
  Phys size = 0;
  Phys align = 0;
  Phys goal = 0;
  Phys limit = 0;
  static constexpr auto fields() {
    return std::tuple{Field{"size", &AllocBootmem::size}, Field{"align", &AllocBootmem::align},
                      Field{"goal", &AllocBootmem::goal}, Field{"limit", &AllocBootmem::limit}};
  }
};

// ___alloc_bootmem_node_nopanic(NODE_DATA(nid), size, align, goal, limit)
struct AllocBootmemNode {
  MBFUZZ_OP_COMMON(AllocBootmemNode, "alloc_bootmem_node");
  Nid nid;
  Phys size = 0;
  Phys align = 0;
  Phys goal = 0;
  Phys limit = 0;
  static constexpr auto fields() {
    return std::tuple{Field{"nid", &AllocBootmemNode::nid}, Field{"size", &AllocBootmemNode::size},
                      Field{"align", &AllocBootmemNode::align}, Field{"goal", &AllocBootmemNode::goal},
                      Field{"limit", &AllocBootmemNode::limit}};
  }
};

MBFUZZ_NULLARY_OP(FreeAllBootmem, "free_all_bootmem");  // free_all_bootmem()

#undef MBFUZZ_OP_COMMON
#undef MBFUZZ_RANGE_OP
#undef MBFUZZ_SIZE_ALIGN_OP
#undef MBFUZZ_TRY_NID_OP
#undef MBFUZZ_ADDR_QUERY_OP
#undef MBFUZZ_NULLARY_OP

using Op = std::variant<
    // environment
    SetSlabAvailable, SetMovableNode, SetMirroredKernelcore,
    // ranges
    Add, AddNode, Remove, Reserve, PhysFree, Free, MarkHotplug, ClearHotplug, MarkMirror,
    MarkNomap, ClearNomap, SetNode,
    // whole map
    TrimMemory, EnforceMemoryLimit, CapMemoryRange, MemLimitRemoveMap, SetCurrentLimit,
    SetBottomUp, AllowResize,
    // allocation
    PhysAlloc, PhysAllocRange, PhysAllocTryNid, AllocRangeNid, Alloc, AllocRaw, AllocFrom,
    AllocLow, AllocNode, AllocTryNid, AllocTryNidRaw, AllocExactNidRaw,
    // queries
    OverlapsRegion, IsRegionReserved, IsMemory, IsMapMemory, IsRegionMemory, IsReserved,
    PhysMemSize, ReservedSize, StartOfDram, EndOfDram, SearchPfnNid, FreeRanges, MemPfnRanges,
    // hand-off
    FreeAll, Discard,
    // bootmem, appended last: memblock's byte format numbers the kinds above
    InitBootmemNode, FreeBootmem, FreeBootmemNode, ReserveBootmem, ReserveBootmemNode,
    AllocBootmem, AllocBootmemNode, FreeAllBootmem>;

// memblock's calls are the kinds before bootmem's.
inline constexpr std::size_t memblock_op_kinds = Op(InitBootmemNode{}).index();

// The calls of the bootmem allocator, which only it answers directly.
template <class T>
inline constexpr bool is_bootmem_op_v =
    std::is_same_v<T, InitBootmemNode> || std::is_same_v<T, FreeBootmem> ||
    std::is_same_v<T, FreeBootmemNode> || std::is_same_v<T, ReserveBootmem> ||
    std::is_same_v<T, ReserveBootmemNode> || std::is_same_v<T, AllocBootmem> ||
    std::is_same_v<T, AllocBootmemNode> || std::is_same_v<T, FreeAllBootmem>;

inline bool is_bootmem_op(const Op& op) {
  return std::visit([](const auto& o) { return is_bootmem_op_v<std::decay_t<decltype(o)>>; }, op);
}

// The trace keyword of an op.
inline std::string_view op_name(const Op& op) {
  return std::visit([](const auto& o) { return std::decay_t<decltype(o)>::name; }, op);
}

// Allocators whose contract includes zeroing the memory they return.
template <class T>
inline constexpr bool zeroing_alloc_v =
    std::is_same_v<T, Alloc> || std::is_same_v<T, AllocFrom> || std::is_same_v<T, AllocLow> ||
    std::is_same_v<T, AllocNode> || std::is_same_v<T, AllocTryNid>;

}  // namespace mbfuzz
