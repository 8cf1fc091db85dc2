// Random sequences of bootmem's calls for the tests: a layout of one to
// three nodes the way an arch sets them up (each node all reserved, its RAM
// freed, its bitmap reserved), then frees, reservations and allocations
// near the nodes' pages, whole and partial, and sometimes the hand-off.
// Deterministic per seed.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <vector>

#include "core/op.hpp"

namespace mbfuzz::testing {

class RandomBootmemOps {
 public:
  explicit RandomBootmemOps(std::uint64_t seed) : rng_(seed) {}

  std::vector<Op> sequence(std::size_t length) {
    std::vector<Op> ops;
    layout(ops);
    while (ops.size() < length) ops.push_back(any());
    if (chance(4)) ops.push_back(FreeAllBootmem{});
    return ops;
  }

  // The nodes (start, end) the last sequence laid out.
  const std::vector<std::pair<std::uint64_t, std::uint64_t>>& nodes() const { return nodes_; }

 private:
  static constexpr Phys page = 4096;

  bool chance(unsigned one_in) { return rng_() % one_in == 0; }
  std::uint64_t below(std::uint64_t n) { return rng_() % n; }
  Phys pick(std::initializer_list<Phys> values) { return *(values.begin() + below(values.size())); }

  void layout(std::vector<Op>& ops) {
    nodes_.clear();
    const int count = 1 + static_cast<int>(below(3));
    // Most nodes start on a 64-page boundary, as real ones do; some do not.
    std::uint64_t start = (1 + below(64)) * 64 + (chance(4) ? below(64) : 0);
    std::vector<Op> inits;
    for (int nid = 0; nid < count; ++nid) {
      const std::uint64_t pages = 16 + below(300);
      nodes_.emplace_back(start, start + pages);
      // The bitmap at the node's start, as arches put it, or just below.
      const std::uint64_t map = chance(4) ? start - 1 : start;
      inits.push_back(InitBootmemNode{.nid = Nid{nid}, .start_pfn = start, .end_pfn = start + pages, .map_pfn = map});
      start += pages + (chance(2) ? 0 : below(100));  // contiguous, or a gap
    }
    // Nodes come up in any order; bootmem keeps them sorted.
    if (chance(3)) std::reverse(inits.begin(), inits.end());
    ops.insert(ops.end(), inits.begin(), inits.end());
    // The RAM, node by node; then, mostly, each bitmap's page where it lies in a node.
    for (auto [s, e] : nodes_) ops.push_back(FreeBootmem{.base = s * page, .size = (e - s) * page});
    for (const Op& init : inits) {
      const auto& node = std::get<InitBootmemNode>(init);
      if (!chance(3) && node.map_pfn == node.start_pfn)
        ops.push_back(ReserveBootmem{.base = node.map_pfn * page, .size = page, .exclusive = true});
    }
  }

  // An address near the nodes: on a page, in one, across a boundary.
  Phys address() {
    const auto [s, e] = nodes_[below(nodes_.size())];
    const std::uint64_t pfn = s + below(e - s + 2) - (chance(8) ? 1 : 0);
    return pfn * page + (chance(3) ? below(page) : 0);
  }
  Phys size() {
    switch (below(6)) {
      case 0: return below(page);                    // inside a page, or across two
      case 1: return (1 + below(64)) * page + below(page);
      default: return (1 + below(16)) * page;
    }
  }
  Phys alloc_size() { return chance(2) ? 1 + below(page * 2) : (1 + below(8)) * page; }
  Phys align() { return pick({8, 64, page, 4 * page, 64 * page}); }
  Phys goal() { return chance(2) ? 0 : address(); }
  Phys limit() { return chance(3) ? address() + page * below(64) : 0; }
  Nid nid() { return Nid{static_cast<int>(below(nodes_.size() + (chance(8) ? 1 : 0)))}; }

  Op any() {
    switch (below(10)) {
      case 0:
      case 1: return FreeBootmem{.base = address(), .size = size()};
      case 2: return FreeBootmemNode{.nid = nid(), .base = address(), .size = size()};
      case 3:
      case 4: return ReserveBootmem{.base = address(), .size = size(), .exclusive = chance(2)};
      case 5: return ReserveBootmemNode{.nid = nid(), .base = address(), .size = size(), .exclusive = chance(2)};
      case 6:
      case 7:
        return AllocBootmem{.size = alloc_size(), .align = align(), .goal = goal(), .limit = limit()};
      default:
        return AllocBootmemNode{.nid = nid(), .size = alloc_size(), .align = align(), .goal = goal(), .limit = limit()};
    }
  }

  std::mt19937_64 rng_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> nodes_;
};

}  // namespace mbfuzz::testing
