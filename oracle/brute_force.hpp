// A second, deliberately naive model of memblock, to check the oracle itself.
//
// It knows nothing of intervals: the address space is kUnits allocation
// units of one page each, and memory and reserved are each one slot per
// unit (present or not, node, flags, and whether a region starts there).
// Every operation is a loop over slots; an allocation tries every candidate
// address in turn. Written from memblock's kernel-doc and the calls its
// functions make on each other, independently of oracle::Model, so that the
// two agreeing on random sequences is evidence about both.
//
// The domain it represents, checked by represents(): every address and size
// is a multiple of the unit inside [0, span()]; an allocation bound (end,
// max, current_limit) may also be ANYWHERE or anything past span(), which
// behaves like span(), and end/max may be ACCESSIBLE or NOLEAKTRACE;
// alignments are 0 or powers of two (those below a unit hold at every unit);
// pfns are unit indexes. With 64 units an array never holds more than 64
// regions, so no array is ever doubled, and nothing comes near the top of the
// address space, where memblock's arithmetic wraps. Every op of core/op.hpp
// is in it; left out, as the unit grid cannot represent them:
//  - unaligned addresses and sizes (a unit is the smallest extent);
//  - set_current_limit to a value that is not a unit multiple below span(),
//    NOLEAKTRACE included (a 1-byte bound);
//  - alignments that are not powers of two (memblock leaves them undefined;
//    oracle::Model answers nullopt), and trim_memory(0);
//  - array doubling and where the doubled arrays live (never needed here);
//  - free_all's cap of a buddy block at 2^(MAX_ORDER-1) pages, which no
//    64-page range reaches (modelled, but never exercised).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/op.hpp"
#include "core/outcome.hpp"
#include "core/snapshot.hpp"
#include "oracle/knobs.hpp"

namespace mbfuzz::oracle {

class BruteForceModel {
 public:
  static constexpr std::size_t kUnits = 64;

  // A deliberate error, to prove that a cross-check against this model can fail.
  enum class Flaw {
    none,
    top_down_takes_lowest,  // top-down allocation returns the lowest fit, as bottom-up does
  };

  explicit BruteForceModel(const Knobs& knobs, Flaw flaw = Flaw::none);

  // Whether `op` lies inside the domain above; run() throws
  // std::invalid_argument for an op that does not.
  bool represents(const Op& op) const;

  // The outcome of `op`, advancing the model. Never nullopt inside the domain;
  // the optional mirrors oracle::Model::run.
  std::optional<Outcome> run(const Op& op);

  Snapshot snapshot() const;

  Phys unit() const { return knobs_.page_size; }
  Phys span() const { return kUnits * unit(); }

 private:
  // One allocation unit of a region array.
  struct Slot {
    bool present = false;
    bool starts_region = false;  // a region boundary lies just below this unit
    int nid = 0;
    std::uint32_t flags = 0;
  };
  struct Units {
    std::vector<Slot> slots = std::vector<Slot>(kUnits);
    int dummy_nid = 0;  // the nid of the empty array's placeholder entry
  };
  // A region, or a run of free units, in unit indexes [begin, end).
  struct Run {
    std::size_t begin = 0;
    std::size_t end = 0;
    int nid = 0;
    std::uint32_t flags = 0;
  };
  class Step;  // the visitor that runs one op

  // ---- unit arrays ----------------------------------------------------------
  static std::vector<Run> regions_of(const Units& units);
  static bool any_present(const Units& units);
  static std::size_t present_count(const Units& units);
  // Keeps the invariant "a present unit after an absent one starts a region".
  static void settle(Units& units);
  // Regions crossing a boundary at `b` or `e` are cut there.
  static void isolate(Units& units, std::size_t b, std::size_t e);
  // Touching regions with equal node and flags become one.
  static void merge(Units& units);

  // ---- memblock's operations, on units --------------------------------------
  int add(Units& units, Phys base, Phys size, int nid, std::uint32_t flags);
  int remove(Units& units, Phys base, Phys size);
  template <class Change>
  int change(Units& units, Phys base, Phys size, Change change_slot);
  void trim(Phys align);
  std::optional<Phys> address_after(Phys limit) const;
  void cap(Phys base, Phys size);
  std::vector<Run> free_runs(int nid, std::uint32_t flags) const;
  Phys find(Phys size, Phys align, Phys start, Phys end, int nid, std::uint32_t flags) const;
  Phys alloc_phys(Phys size, Phys align, Phys start, Phys end, int nid, bool exact);
  Allocation alloc_virt(Phys size, Phys align, Phys min, Phys max, int nid, bool exact,
                        bool zeroing);
  BuddyRelease free_all(std::uint64_t max_low_pfn);

  // ---- conversions ----------------------------------------------------------
  Phys narrow(Phys v) const { return v & knobs_.phys_addr_max(); }  // C's conversion to phys_addr_t
  std::size_t to_unit(Phys addr) const;  // addr <= span(), a unit multiple
  int stored_nid(int nid) const { return knobs_.numa ? nid : 0; }
  int unassigned_nid() const { return stored_nid(knobs_.max_numnodes); }

  Knobs knobs_;
  Flaw flaw_;
  Units memory_;
  Units reserved_;
  bool bottom_up_ = false;
  Phys current_limit_;
  bool can_resize_ = false;
  bool has_some_mirror_ = false;
  bool discarded_ = false;
  bool slab_available_ = false;
  bool movable_node_ = false;
  bool mirrored_kernelcore_ = false;
};

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

}  // namespace mbfuzz::oracle
