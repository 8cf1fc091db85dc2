// The oracle: memblock's specification as a model over interval sets.
//
// Written from memblock's documentation (kernel-doc of mm/memblock.c and
// include/linux/memblock.h, Documentation/core-api/boot-time-mm.rst), not
// from its code: memory and reserved are RegionArrays (Boost.ICL interval
// maps from address to node and flags), free memory is `memory - reserved`
// filtered by node and flags, and an allocation is the highest (or lowest)
// aligned fit in one free range.
#pragma once

#include <optional>
#include <vector>

#include "core/op.hpp"
#include "core/outcome.hpp"
#include "core/snapshot.hpp"
#include "oracle/knobs.hpp"
#include "oracle/region_array.hpp"

namespace mbfuzz::oracle {

class Model {
 public:
  explicit Model(const Knobs& knobs);

  // The predicted outcome of `op`, which also advances the model; nullopt
  // when the specification does not define the op's result (an alignment
  // that is not a power of two; freeing the reservation of memblock's own
  // region array), in which case the model is left as it was.
  std::optional<Outcome> run(const Op& op);

  Snapshot snapshot() const;
  const Knobs& knobs() const { return knobs_; }

  // ---- the specification, one function per documented operation ----------
  // Each returns 0 or a negative errno where memblock's function does.

  // memblock_add_range: fill the parts of [base, base+size) no region covers
  // with new regions (existing regions keep their attributes), then merge.
  int add_range(RegionArrayModel& array, Phys base, Phys size, int nid, std::uint32_t flags);
  // memblock_remove_range: [base, base+size) is no longer in the array.
  int remove_range(RegionArrayModel& array, Phys base, Phys size);
  // memblock_setclr_flag on memory.
  int set_flag(Phys base, Phys size, bool set, std::uint32_t flag);
  int set_node(RegionArrayModel& array, Phys base, Phys size, int nid);
  void trim_memory(Phys align);
  void enforce_memory_limit(Phys limit);
  void cap_memory_range(Phys base, Phys size);
  void mem_limit_remove_map(Phys limit);

  // memblock_alloc_range_nid: physical address, 0 on failure.
  Phys alloc_range_nid(Phys size, Phys align, Phys start, Phys end, int nid, bool exact_nid);
  // memblock_alloc_internal: what memblock_alloc* return.
  Allocation alloc_internal(Phys size, Phys align, Phys min, Phys max, int nid, bool exact_nid,
                            bool zeroing);
  // The free ranges for_each_free_mem_range walks, in ascending order.
  std::vector<Range> free_ranges(int nid, std::uint32_t flags) const;
  BuddyRelease free_all(std::uint64_t max_low_pfn);
  BuddyRelease discard();

  // ---- state --------------------------------------------------------------
  RegionArrayModel memory;
  RegionArrayModel reserved;
  bool bottom_up = false;
  Phys current_limit;
  bool can_resize = false;
  bool has_some_mirror = false;
  bool discarded = false;
  bool slab_available = false;
  bool movable_node = false;
  bool mirrored_kernelcore = false;

  // Helpers of the specification, public so that tests can name them.
  Phys phys(Phys value) const { return value & knobs_.phys_addr_max(); }
  // memblock_cap_size: base + size never passes the top of the address space.
  Phys cap(Phys base, Phys size) const { return std::min(size, knobs_.phys_addr_max() - base); }
  // The node a region records: none without CONFIG_NUMA.
  int node(int nid) const { return knobs_.numa ? nid : 0; }
  int unassigned_node() const { return node(knobs_.max_numnodes); }
  // The first whole page at or above addr.
  std::uint64_t pfn_up(Phys addr) const {
    return addr / knobs_.page_size + (addr % knobs_.page_size != 0);
  }

 private:
  // The region array is full: grow it (memblock_double_array), avoiding
  // [area_base, area_base + area_size) when growing reserved.
  bool grow(RegionArrayModel& array, Phys area_base, Phys area_size);
  // Make regions cross neither base nor base+size (memblock_isolate_range).
  int isolate(RegionArrayModel& array, Phys base, Phys size);
  // memblock_find_in_range_node: the aligned fit the allocation direction
  // picks, or 0.
  Phys find(Phys size, Phys align, Phys start, Phys end, int nid, std::uint32_t flags) const;
  // memblock_find_in_range: any node, mirrored memory first when there is some.
  Phys find_anywhere(Phys start, Phys end, Phys size, Phys align) const;
  // The address memory reaches after `limit` bytes of it, or PHYS_ADDR_MAX.
  Phys address_after(Phys limit) const;
  void release_pages(BuddyRelease& release, std::uint64_t start_pfn, std::uint64_t end_pfn,
                     bool single_pages) const;

  Knobs knobs_;
};

// An allocation that memblock_double_array could not reserve: BUG().
struct ArrayReservationFailed {};

}  // namespace mbfuzz::oracle
