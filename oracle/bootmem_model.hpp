// The oracle for bootmem: its specification (docs/allocators.md, "bootmem's
// semantics") over sets of page frame numbers. A node is a pfn interval and
// the set of its reserved pages; free pages are `span - reserved`; an
// allocation is the lowest aligned fit from the hint or the start. No
// bitmap and no word arithmetic: the model is written from the semantics,
// not from core/kernel/bootmem.c.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/bootmem.hpp"
#include "core/op.hpp"
#include "core/outcome.hpp"
#include "oracle/region_array.hpp"

namespace mbfuzz::oracle {

using PfnSet = AddressSet;  // the same interval algebra, over pfns

class BootmemModel {
 public:
  static constexpr Phys page_size = 4096;
  static constexpr int max_numnodes = 16;
  static constexpr std::uint64_t max_node_pages = std::uint64_t{1} << 20;

  struct Node {
    int nid = 0;
    std::uint64_t min_pfn = 0, low_pfn = 0, map_pfn = 0;
    PfnSet reserved;
    std::uint64_t hint = 0;          // hint_idx: an index from min_pfn
    std::uint64_t last_end_off = 0;  // bytes from the node's start
    bool has_map = true;
    bool holds(std::uint64_t pfn) const { return min_pfn <= pfn && pfn < low_pfn; }
  };

  // The predicted outcome, which also advances the model; nullopt when the
  // op lies outside the specification (then the model is as it was).
  std::optional<Outcome> run(const Op& op);

  BootmemSnapshot snapshot() const;

  // ---- the specification, one function per documented operation ----------
  void init_node(int nid, std::uint64_t start_pfn, std::uint64_t end_pfn, std::uint64_t map_pfn);
  // mark_bootmem: free (reserve == false) or reserve [start, end) across nodes.
  int mark(std::uint64_t start, std::uint64_t end, bool reserve, bool exclusive);
  // mark_bootmem_node
  int mark_node(Node& node, std::uint64_t start, std::uint64_t end, bool reserve, bool exclusive);
  // ___alloc_bootmem_nopanic and ___alloc_bootmem_node_nopanic: the block's address.
  std::optional<Phys> alloc(Phys size, Phys align, Phys goal, Phys limit);
  std::optional<Phys> alloc_node(int nid, Phys size, Phys align, Phys goal, Phys limit);
  BuddyRelease free_all();

  // ---- state: the nodes in list order (ascending min_pfn) ------------------
  std::vector<Node> nodes;
  bool released = false;  // free_all_bootmem ran: every later call is refused

  // The bitmap's size in bytes for a node of `pages` pages.
  static std::uint64_t bootmap_bytes(std::uint64_t pages) { return (pages + 63) / 64 * 8; }
  static std::uint64_t pfn_up(Phys addr) { return (addr + page_size - 1) / page_size; }  // wraps as in C
  static std::uint64_t pfn_down(Phys addr) { return addr / page_size; }

 private:
  Node* node_of(int nid);
  // alloc_bootmem_bdata on a node (nullptr: never initialised).
  std::optional<Phys> alloc_in(Node* node, Phys size, Phys align, Phys goal, Phys limit);
  // alloc_bootmem_core: the nodes the goal and limit allow, in order.
  std::optional<Phys> alloc_any(Phys size, Phys align, Phys goal, Phys limit);
  void free_pages(Node& node, std::uint64_t start, std::uint64_t end);

  std::vector<KernelEvent> events_;  // what the current op reported: kinds only
};

// BUG() in the specification: the op aborts, the model keeps what was done.
struct BootmemBug {};

}  // namespace mbfuzz::oracle
