#include "oracle/known_divergences.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "oracle/bootmem_model.hpp"

namespace mbfuzz::oracle {
namespace {

template <class T>
const T* op_as(const Divergence& d) {
  return std::get_if<T>(&d.op);
}

bool same_regions(const RegionArray& a, const RegionArray& b) {
  return a.cnt == b.cnt && a.max == b.max && a.regions == b.regions;
}

// memblock_trim_memory() shrinks regions in place without lowering
// memory.total_size: the regions are exactly as specified, and total_size
// is larger than their sum by what was trimmed off.
bool trim_keeps_total_size(const Divergence& d, const Knobs&) {
  return op_as<TrimMemory>(d) && (d.check == "invariant: memory" || d.check == "memory") &&
         same_regions(d.actual_state.memory, d.expected_state.memory) &&
         d.actual_state.memory.total_size > d.expected_state.memory.total_size &&
         d.actual_state.reserved == d.expected_state.reserved;
}

// memblock_trim_memory() rounds a region's base up with round_up(), which
// wraps to 0 for a region in the last `align` block of the address space:
// instead of going, the region grows down to address 0.
bool trim_round_up_wraps(const Divergence& d, const Knobs& k) {
  const auto* op = op_as<TrimMemory>(d);
  if (!op || (d.check != "invariant: memory" && d.check != "memory")) return false;
  const Phys align = op->align & k.phys_addr_max(), max = k.phys_addr_max();
  bool wraps = false;
  for (const Region& r : d.before.memory.regions)
    wraps = wraps || (r.size && (r.base & (align - 1)) && r.base > max - (align - 1));
  if (!wraps) return false;
  // Every region memblock has that the specification does not starts at 0.
  for (const Region& r : d.actual_state.memory.regions)
    if (r.base != 0 && std::find(d.expected_state.memory.regions.begin(),
                                 d.expected_state.memory.regions.end(), r) ==
                           d.expected_state.memory.regions.end())
      return false;
  return true;
}

// memblock_cap_memory_range(base, size) cuts reserved at base + size without
// capping it: when that wraps past the top of the address space, reserved
// loses regions the specification keeps. Memory is as specified.
bool cap_memory_range_wraps(const Divergence& d, const Knobs& k) {
  const auto* op = op_as<CapMemoryRange>(d);
  if (!op || d.check != "reserved") return false;
  const Phys max = k.phys_addr_max(), base = op->base & max, size = op->size & max;
  const bool wraps = size > max - base;
  return wraps && d.actual_state.memory == d.expected_state.memory &&
         d.actual_state.reserved.regions.size() <= d.expected_state.reserved.regions.size() &&
         d.actual_state.reserved.total_size < d.expected_state.reserved.total_size;
}

// memblock_overlaps_region() (and so memblock_is_region_reserved()) reports
// an empty range as overlapping a region it lies strictly inside.
bool empty_range_overlaps(const Divergence& d, const Knobs& k) {
  Phys base = 0, size = 0;
  const RegionArray* array = &d.before.reserved;
  if (const auto* op = op_as<OverlapsRegion>(d)) {
    base = op->base, size = op->size;
    if (op->type == RegionType::memory) array = &d.before.memory;
  } else if (const auto* q = op_as<IsRegionReserved>(d)) {
    base = q->base, size = q->size;
  } else {
    return false;
  }
  base &= k.phys_addr_max();
  if (d.check != "outcome" || (size & k.phys_addr_max()) != 0) return false;
  if (d.expected_outcome.value != Value{Truth{false}} || d.actual_outcome.value != Value{Truth{true}})
    return false;
  for (const Region& r : array->regions)
    if (r.base < base && base < r.end()) return true;
  return false;
}

// Where two reserved regions touch (they stay apart when their nids differ,
// as after memblock_set_node() on reserved), for_each_free_mem_range reports
// an empty range at the seam; a size-0 allocation can then return it.
bool at_reserved_seam(const RegionArray& reserved, Phys addr) {
  for (std::size_t i = 0; i + 1 < reserved.regions.size(); ++i)
    if (reserved.regions[i].size && reserved.regions[i].end() == addr && reserved.regions[i + 1].base == addr)
      return true;
  return false;
}

bool empty_free_range_at_seam(const Divergence& d, const Knobs& k) {
  if (d.check != "outcome") return false;
  const RegionArray& reserved = d.before.reserved;
  if (std::holds_alternative<FreeRanges>(d.op)) {
    const auto* expected = std::get_if<Ranges>(&d.expected_outcome.value);
    const auto* actual = std::get_if<Ranges>(&d.actual_outcome.value);
    if (!expected || !actual) return false;
    std::vector<Range> nonempty;
    for (const Range& r : actual->ranges) {
      if (r.start != r.end) nonempty.push_back(r);
      else if (!at_reserved_seam(reserved, r.start)) return false;
    }
    return nonempty == expected->ranges;
  }
  // A size-0 allocation placed at a seam.
  Phys size = 1;
  std::visit([&](const auto& op) {
    if constexpr (requires { op.size; op.align; }) size = op.size & k.phys_addr_max();
  }, d.op);
  if (size != 0) return false;
  Phys addr = 0;
  if (const auto* a = std::get_if<Address>(&d.actual_outcome.value)) addr = a->value;
  if (const auto* a = std::get_if<Allocation>(&d.actual_outcome.value)) addr = a->addr;
  if (addr == 0) return false;
  if (at_reserved_seam(reserved, addr)) return true;
  // A seam below where the allocation may start (PAGE_SIZE, or the op's
  // start or min) is clamped up to that bound, and the empty range there is
  // what is returned.
  Phys lowest = k.page_size;
  std::visit([&](const auto& op) {
    if constexpr (requires { op.start; }) lowest = std::max(lowest, op.start & k.phys_addr_max());
    if constexpr (requires { op.min; }) lowest = std::max(lowest, op.min & k.phys_addr_max());
  }, d.op);
  if (addr != k.page_size && addr != lowest) return false;
  for (std::size_t i = 0; i + 1 < reserved.regions.size(); ++i) {
    const Phys seam = reserved.regions[i].end();
    if (reserved.regions[i].size && reserved.regions[i + 1].base == seam && seam < addr) return true;
  }
  return false;
}

// __free_memory_core() rounds a free range's start up to a page with
// PFN_UP(), which wraps to pfn 0 when the range starts in the last page below
// 2^64; the buddy allocator then receives pfns from 0 up to max_low_pfn again.
bool free_all_pfn_up_wraps(const Divergence& d, const Knobs& k) {
  if (!op_as<FreeAll>(d) || d.check != "outcome" || k.phys_bits != 64) return false;
  const Phys last_page = ~Phys{0} - k.page_size + 1;
  AddressSet free;
  for (const Region& r : d.before.memory.regions)
    if (r.size && !(r.flags & Flags::nomap)) free += interval(r.base, r.end());
  for (const Region& r : d.before.reserved.regions)
    if (r.size) free -= interval(r.base, r.end());
  for (const Interval& piece : free)
    if (icl::lower(piece) > last_page) return true;  // PFN_UP(lower) wraps
  return false;
}

// __next_mem_pfn_range() rounds a region's base up with PFN_UP(), which
// wraps to pfn 0 for a region starting in the last page below 2^64: the
// region is reported as covering pfns from 0.
bool mem_pfn_range_pfn_up_wraps(const Divergence& d, const Knobs& k) {
  if (!op_as<MemPfnRanges>(d) || d.check != "outcome" || k.phys_bits != 64) return false;
  const Phys last_page = ~Phys{0} - k.page_size + 1;
  const auto* actual = std::get_if<Ranges>(&d.actual_outcome.value);
  const auto* expected = std::get_if<Ranges>(&d.expected_outcome.value);
  if (!actual || !expected) return false;
  const bool wraps = std::any_of(d.before.memory.regions.begin(), d.before.memory.regions.end(),
                                 [&](const Region& r) { return r.size && r.base > last_page; });
  // What memblock reports beyond the specification (counted with
  // multiplicity: the wrapped range may equal a correct one) starts at pfn 0.
  std::vector<Range> extra = actual->ranges;
  for (const Range& r : expected->ranges) {
    auto it = std::find(extra.begin(), extra.end(), r);
    if (it == extra.end()) return false;  // memblock lost a range the specification has
    extra.erase(it);
  }
  return wraps && !extra.empty() &&
         std::all_of(extra.begin(), extra.end(), [](const Range& r) { return r.start == 0; });
}

// memblock_enforce_memory_limit(), memblock_cap_memory_range() and
// memblock_mem_limit_remove_map() truncate reserved without sparing the
// reservation of a region array memblock_double_array() placed in memory;
// the array stays in use. Once memory is added there again, an allocation
// can hand the array out: a zeroing allocator wipes it. Recognised by its
// result: a moved array whose entries were zeroed under it (regions of size
// 0 in an array of more than one), exactly where the specification has the
// array intact, after such a truncation earlier in the run.
bool truncation_unreserves_region_array(const Divergence& d, const Knobs&) {
  auto wiped = [](const RegionArray& actual, const RegionArray& expected) {
    if (actual.in_static_array || actual.cnt <= 1 || actual.cnt != expected.cnt) return false;
    const bool zeroed = std::any_of(actual.regions.begin(), actual.regions.end(),
                                    [](const Region& r) { return r.size == 0 && r.base == 0; });
    const bool intact = std::none_of(expected.regions.begin(), expected.regions.end(),
                                     [](const Region& r) { return r.size == 0; });
    return zeroed && intact;
  };
  const bool writes = std::visit([](const auto& op) { return zeroing_alloc_v<std::decay_t<decltype(op)>>; }, d.op);
  return writes && (wiped(d.actual_state.memory, d.expected_state.memory) ||
                    wiped(d.actual_state.reserved, d.expected_state.reserved));
}

// mark_bootmem_node() takes eidx = end - node_min_pfn without checking that
// end is not below the node: a range whose rounded end falls below the first
// pfn of the node holding its start (a free of less than a page just below
// a node boundary; a reservation whose end wraps past 2^64) makes eidx
// wrap, and the loop marks from the range's start to the end of the bitmap
// and past it. The specification marks nothing for such a range.
bool bootmem_range_below_node_wraps(const Divergence& d, const Knobs&) {
  if (!d.bootmem) return false;
  auto up = BootmemModel::pfn_up, down = BootmemModel::pfn_down;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> range;  // [start, end) in pfns
  std::optional<int> nid;
  std::visit(
      [&](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, FreeBootmem> || std::is_same_v<T, FreeBootmemNode>)
          range = {up(o.base), down(o.base + o.size)};
        if constexpr (std::is_same_v<T, ReserveBootmem> || std::is_same_v<T, ReserveBootmemNode>)
          range = {down(o.base), up(o.base + o.size)};
        if constexpr (std::is_same_v<T, FreeBootmemNode> || std::is_same_v<T, ReserveBootmemNode>) nid = o.nid.value;
      },
      d.op);
  if (!range) return false;
  // What the wrap does: the walk is BUG() at the first page it cannot mark
  // (or at the bitmap's end), or an exclusive reservation meets a reserved
  // page and gives back what it took: -EBUSY. Nothing else is excused.
  const bool walk_stopped = d.actual_outcome.status == Outcome::Status::aborted &&
                            d.actual_outcome.events.size() == 1 &&
                            d.actual_outcome.events.front().kind == KernelEvent::Kind::bug;
  const bool refused = d.actual_outcome.status == Outcome::Status::completed &&
                       d.actual_outcome.value == Value{Errno{-16}};
  if (d.check != "outcome" || d.expected_outcome.status != Outcome::Status::completed || !(walk_stopped || refused))
    return false;
  const auto [start, end] = *range;
  for (const BootmemNode& n : d.bootmem->before.nodes) {
    const bool chosen = nid ? n.nid == *nid : (n.min_pfn <= start && start < n.low_pfn);
    if (chosen) return start >= n.min_pfn && end < n.min_pfn;
  }
  return false;
}

// free_all_bootmem_core() reads the bitmap a word (64 pages) at a time from
// each 64-aligned pfn; when the node's first pfn is not a multiple of 64,
// each read straddles two words, and the last read, with fewer than 64
// pages left, takes only the first word: the node's last free pages beyond
// it are never handed over. Exactly those pages are missing.
bool bootmem_free_all_skips_node_tail(const Divergence& d, const Knobs&) {
  if (!op_as<FreeAllBootmem>(d) || d.check != "outcome" || !d.bootmem) return false;
  const auto* expected = std::get_if<BuddyRelease>(&d.expected_outcome.value);
  const auto* actual = std::get_if<BuddyRelease>(&d.actual_outcome.value);
  if (!expected || !actual) return false;
  std::vector<std::uint64_t> skipped;  // free pfns past the last word read
  for (const BootmemNode& n : d.bootmem->before.nodes) {
    const std::uint64_t last_read_pages = n.min_pfn % 64;  // what the last read covers
    const std::uint64_t last_read = n.low_pfn / 64 * 64;
    if (!n.has_map || last_read_pages == 0 || n.low_pfn % 64 <= last_read_pages || last_read <= n.min_pfn) continue;
    for (std::uint64_t pfn = last_read + last_read_pages; pfn < n.low_pfn; ++pfn) {
      const bool reserved = std::any_of(n.reserved.begin(), n.reserved.end(),
                                        [&](const auto& run) { return run.first <= pfn && pfn < run.second; });
      if (!reserved) skipped.push_back(pfn);
    }
  }
  if (skipped.empty()) return false;
  BuddyRelease without = *expected;
  for (std::uint64_t pfn : skipped) {
    auto it = std::find(without.blocks.begin(), without.blocks.end(), PageBlock{pfn, 0});
    if (it == without.blocks.end()) return false;
    without.blocks.erase(it);
  }
  without.totalram_pages -= static_cast<long>(skipped.size());
  return without == *actual;
}

constexpr std::array entries{
    KnownDivergence{
        "trim-memory-total-size",
        "memblock_trim_memory leaves memory.total_size unchanged when it shrinks a region",
        "6.1.192; unchanged in mainline as read in 2026 (mm/memblock.c memblock_trim_memory)",
        "mm/memblock.c:1870-1871 sets r->base and r->size; only the removal branch goes through "
        "memblock_remove_region(), which updates total_size. memblock.h documents total_size as "
        "'size of all regions'.",
        trim_keeps_total_size},
    KnownDivergence{
        "trim-memory-round-up-wraps",
        "memblock_trim_memory turns a region in the last aligned block into one starting at 0",
        "6.1.192 (found by mbfuzz); mainline has the same code",
        "mm/memblock.c:1863 start = round_up(orig_start, align) overflows to 0 when orig_start > "
        "PHYS_ADDR_MAX - align + 1; then start < end and the region becomes [0, end).",
        trim_round_up_wraps},
    KnownDivergence{
        "cap-memory-range-wraps",
        "memblock_cap_memory_range truncates reserved at an uncapped base + size",
        "6.1.192; unchanged in mainline as read in 2026",
        "mm/memblock.c:1746-1747 call memblock_remove_range(&memblock.reserved, base + size, "
        "PHYS_ADDR_MAX); memory is capped inside memblock_isolate_range(), reserved is not.",
        cap_memory_range_wraps},
    KnownDivergence{
        "empty-range-overlaps",
        "memblock_overlaps_region treats an empty range inside a region as overlapping it",
        "6.1.192; unchanged in mainline as read in 2026 (memblock_addrs_overlap)",
        "mm/memblock.c:179-183: (base1 < base2 + size2) && (base2 < base1 + size1) holds for "
        "size1 == 0 when base2 < base1 < base2 + size2; kernel-doc of memblock_is_region_reserved: "
        "'Check if the region [@base, @base + @size) intersects a reserved memory block'.",
        empty_range_overlaps},
    KnownDivergence{
        "empty-free-range-at-seam",
        "for_each_free_mem_range reports an empty range where two reserved regions touch",
        "6.1.192 (found by mbfuzz); mainline has the same iterator",
        "__next_mem_range() (mm/memblock.c:1087-1110) yields [r_end of one reservation, base of "
        "the next) even when that is empty; reserved regions with different nids stay apart, as "
        "after memblock_set_node(&memblock.reserved). The kernel-doc promises 'free (memory && "
        "!reserved) areas'. A size-0 allocation then returns a reserved address.",
        empty_free_range_at_seam},
    KnownDivergence{
        "free-all-pfn-up-wraps",
        "memblock_free_all releases pfns from 0 again when a free range starts in the last page",
        "6.1.192 (64-bit phys_addr_t); mainline not checked",
        "mm/memblock.c:2048 PFN_UP(start) overflows for start > 2^64 - PAGE_SIZE, so "
        "__free_memory_core() frees [0, min(PFN_DOWN(end), max_low_pfn)).",
        free_all_pfn_up_wraps},
    KnownDivergence{
        "mem-pfn-range-pfn-up-wraps",
        "for_each_mem_pfn_range reports pfns from 0 for a region starting in the last page",
        "6.1.192 (64-bit phys_addr_t; found by mbfuzz's fuzzer); mainline not checked",
        "mm/memblock.c:1234 and 1245 compute PFN_UP(r->base), which overflows for a base above "
        "2^64 - PAGE_SIZE; the region is then reported as [0, PFN_DOWN(end)).",
        mem_pfn_range_pfn_up_wraps},
    KnownDivergence{
        "truncation-unreserves-region-array",
        "memory limits drop the reservation of a doubled region array that is still in use",
        "6.1.192 (found by mbfuzz's property tests); mainline not checked",
        "memblock_enforce_memory_limit() (mm/memblock.c:1712-1714) and memblock_cap_memory_range() "
        "(1746-1747) call memblock_remove_range(&memblock.reserved, ...) over the array that "
        "memblock_double_array() reserved (line 493) while memblock.memory.regions still points "
        "there; memory added back over it is free, and the next zeroing allocation wipes the array.",
        truncation_unreserves_region_array},
    KnownDivergence{
        "bootmem-free-all-skips-node-tail",
        "free_all_bootmem never hands over a node's last free pages when the node does not start on a 64-page "
        "boundary",
        "bootmem as in Linux 4.19 (mm/bootmem.c, removed in 4.20; found by mbfuzz's random differential test)",
        "free_all_bootmem_core() (4.19 mm/bootmem.c) builds `vec` from map[idx / BITS_PER_LONG] >> shift and "
        "ORs in the next word only `if (end - start >= BITS_PER_LONG)`; with node_min_pfn % 64 == m != 0, the "
        "last read starts at the last 64-aligned pfn A with end - A < 64, covers only [A, A + m), and the loop "
        "then moves past end: the free pages of [A + m, end) stay out of the buddy allocator and totalram_pages.",
        bootmem_free_all_skips_node_tail},
    KnownDivergence{
        "bootmem-range-below-node-wraps",
        "bootmem marks from a range's start to the end of the bitmap and past it when the range ends below "
        "the node holding its start",
        "bootmem as in Linux 4.19 (mm/bootmem.c, removed in 4.20; found by mbfuzz's random differential test)",
        "mark_bootmem_node() (4.19 mm/bootmem.c) checks start >= node_min_pfn and end <= node_low_pfn, then "
        "sets eidx = end - node_min_pfn, which wraps when end < node_min_pfn: free_bootmem(addr, size) of "
        "less than a page in the page just below a node boundary (PFN_UP(addr) is the next node's first "
        "pfn, PFN_DOWN(addr + size) the one before) clears the next node's bits from its first page until "
        "a free one (BUG()) or past the bitmap; free_bootmem() of such a range in the last page of the last "
        "node is BUG() in mark_bootmem() instead (the model agrees there).",
        bootmem_range_below_node_wraps},
};

}  // namespace

std::span<const KnownDivergence> known_divergences() { return entries; }

const KnownDivergence* match_known_divergence(const Divergence& d, const Knobs& knobs) {
  for (const KnownDivergence& k : entries)
    if (k.matches(d, knobs)) return &k;
  return nullptr;
}

}  // namespace mbfuzz::oracle
