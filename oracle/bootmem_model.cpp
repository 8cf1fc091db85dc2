#include "oracle/bootmem_model.hpp"

#include <algorithm>
#include <climits>
#include <stdexcept>

namespace mbfuzz::oracle {
namespace {

constexpr int ebusy = 16;

// ALIGN() of the kernel: for a power of two, wrapping as unsigned long does.
std::uint64_t align_up(std::uint64_t x, std::uint64_t a) { return (x + (a - 1)) & ~(a - 1); }

// What a BUG or a WARN in the specification leaves in the outcome.
KernelEvent event(KernelEvent::Kind kind) { return KernelEvent{kind, "bootmem.c", 0, ""}; }

}  // namespace

BootmemModel::Node* BootmemModel::node_of(int nid) {
  auto it = std::find_if(nodes.begin(), nodes.end(), [&](const Node& n) { return n.nid == nid; });
  return it == nodes.end() ? nullptr : &*it;
}

// ---- nodes -------------------------------------------------------------------------

void BootmemModel::init_node(int nid, std::uint64_t start_pfn, std::uint64_t end_pfn, std::uint64_t map_pfn) {
  Node node{nid, start_pfn, end_pfn, map_pfn, {}, 0, 0, true};
  if (start_pfn < end_pfn) node.reserved += interval(start_pfn, end_pfn);  // all reserved
  // After every node with the same or a lower start.
  auto at = std::find_if(nodes.begin(), nodes.end(), [&](const Node& n) { return n.min_pfn > start_pfn; });
  nodes.insert(at, std::move(node));
}

// ---- marking -------------------------------------------------------------------------

// The pages [start, end) are cleared in ascending order; the first that is
// not reserved is a BUG, with the pages below it already clear. The hint
// drops to the start first, even for an empty range.
void BootmemModel::free_pages(Node& node, std::uint64_t start, std::uint64_t end) {
  node.hint = std::min(node.hint, start - node.min_pfn);
  if (end <= start) return;
  const PfnSet not_reserved = PfnSet(interval(start, end)) - node.reserved;
  if (!not_reserved.empty()) {
    const std::uint64_t first_free = icl::lower(*not_reserved.begin());
    if (first_free > start) node.reserved -= interval(start, first_free);
    throw BootmemBug{};
  }
  node.reserved -= interval(start, end);
}

int BootmemModel::mark_node(Node& node, std::uint64_t start, std::uint64_t end, bool reserve, bool exclusive) {
  if (start < node.min_pfn || end > node.low_pfn) throw BootmemBug{};
  if (!node.has_map) {  // a node never initialised: [0, 0) without a bitmap
    events_.push_back(event(KernelEvent::Kind::warn));
    return 0;
  }
  if (!reserve) {
    free_pages(node, start, end);
    return 0;
  }
  if (end <= start) return 0;
  if (exclusive && icl::intersects(node.reserved, interval(start, end))) {
    node.hint = std::min(node.hint, start - node.min_pfn);  // what it took is given back by a free
    return -ebusy;
  }
  node.reserved += interval(start, end);
  return 0;
}

// The range begins in a node; each node marks its part, and the next node
// in the list must hold the next page, until the range ends. The seed
// (../shared/seeds/003) documents mark_bootmem as this walk over the node
// list, and the order matters for what a BUG part-way leaves marked.
int BootmemModel::mark(std::uint64_t start, std::uint64_t end, bool reserve, bool exclusive) {
  std::uint64_t pos = start;
  for (Node& node : nodes) {
    if (!node.holds(pos)) {
      if (pos != start) throw BootmemBug{};  // a gap between nodes
      continue;
    }
    const std::uint64_t stop = std::min(node.low_pfn, end);
    if (int err = mark_node(node, pos, stop, reserve, exclusive); reserve && err) {
      mark(start, pos, false, false);  // give back what the earlier nodes took
      return err;
    }
    if (stop == end) return 0;
    pos = node.low_pfn;
  }
  throw BootmemBug{};  // in no node, or past the last one
}

// ---- allocation -------------------------------------------------------------------------

std::optional<Phys> BootmemModel::alloc_in(Node* node, Phys size, Phys align, Phys goal, Phys limit) {
  if (size == 0 || (align & (align - 1)) != 0 || (limit != 0 && goal + size > limit)) throw BootmemBug{};
  if (node == nullptr || !node->has_map) return std::nullopt;

  const std::uint64_t lo = node->min_pfn;
  std::uint64_t hi = node->low_pfn;
  const std::uint64_t goal_pfn = pfn_down(goal), limit_pfn = pfn_down(limit);
  if (limit_pfn != 0 && hi > limit_pfn) hi = limit_pfn;
  if (hi <= lo) return std::nullopt;

  const std::uint64_t step = std::max<std::uint64_t>(align / page_size, 1);
  const std::uint64_t start = goal_pfn != 0 && lo < goal_pfn && goal_pfn < hi ? align_up(goal_pfn, step) : align_up(lo, step);
  const std::uint64_t pages = pfn_up(size);

  // The lowest multiple of step at or above `from` whose pages lie in one free run of the window.
  const PfnSet free = PfnSet(interval(lo, hi)) - node->reserved;
  auto fit = [&](std::uint64_t from) -> std::optional<std::uint64_t> {
    for (const auto& run : free) {
      if (icl::upper(run) <= from) continue;
      const std::uint64_t p = align_up(std::max(icl::lower(run), from), step);
      if (p >= icl::lower(run) && p + pages <= icl::upper(run)) return p;
    }
    return std::nullopt;
  };
  std::optional<std::uint64_t> pfn;
  if (lo + node->hint > start) pfn = fit(align_up(lo + node->hint, step));
  if (!pfn) pfn = fit(start);
  if (!pfn) return std::nullopt;

  // Pack behind the last allocation when it ended inside the page just below.
  const Phys node_base = lo * page_size;
  const std::uint64_t index = *pfn - lo;
  Phys start_off = index * page_size;
  if (node->last_end_off % page_size != 0 && node->last_end_off / page_size + 1 == index)
    start_off = align_up(node_base + node->last_end_off, align) - node_base;
  const Phys end_off = start_off + size;
  node->last_end_off = end_off;
  node->hint = pfn_up(end_off);
  // Its pages from the fit on (a page shared with the last allocation is
  // reserved already) up to the first page after it.
  if (lo + pfn_up(end_off) > *pfn) node->reserved += interval(*pfn, lo + pfn_up(end_off));
  return node_base + start_off;
}

std::optional<Phys> BootmemModel::alloc_any(Phys size, Phys align, Phys goal, Phys limit) {
  for (Node& node : nodes) {
    if (goal != 0 && node.low_pfn <= pfn_down(goal)) continue;
    if (limit != 0 && node.min_pfn >= pfn_down(limit)) break;
    if (auto addr = alloc_in(&node, size, align, goal, limit)) return addr;
  }
  return std::nullopt;
}

std::optional<Phys> BootmemModel::alloc(Phys size, Phys align, Phys goal, Phys limit) {
  if (auto addr = alloc_any(size, align, goal, limit)) return addr;
  if (goal != 0) return alloc_any(size, align, 0, limit);  // the goal is a preference
  return std::nullopt;
}

std::optional<Phys> BootmemModel::alloc_node(int nid, Phys size, Phys align, Phys goal, Phys limit) {
  for (;;) {
    if (limit != 0 && goal + size > limit) limit = 0;  // a limit the goal passes is dropped
    if (auto addr = alloc_in(node_of(nid), size, align, goal, limit)) return addr;
    if (auto addr = alloc_any(size, align, goal, limit)) return addr;
    if (goal == 0) return std::nullopt;
    goal = 0;
  }
}

// ---- the hand-off -------------------------------------------------------------------------

BuddyRelease BootmemModel::free_all() {
  BuddyRelease release;
  std::uint64_t total = 0;
  auto hand_over = [&](std::uint64_t pfn, unsigned order) {
    release.blocks.push_back(PageBlock{pfn, order});
    total += std::uint64_t{1} << order;
  };
  for (Node& node : nodes) {
    if (!node.has_map) continue;
    // Every free page: 64 aligned free pages as one order-6 block, any other alone.
    const PfnSet free = PfnSet(interval(node.min_pfn, node.low_pfn)) - node.reserved;
    for (const auto& run : free) {
      for (std::uint64_t p = icl::lower(run); p < icl::upper(run);) {
        if (p % 64 == 0 && p + 64 <= icl::upper(run)) {
          hand_over(p, 6);
          p += 64;
        } else {
          hand_over(p++, 0);
        }
      }
    }
    // Then the bitmap's own pages.
    const std::uint64_t map_pages = pfn_up(bootmap_bytes(node.low_pfn - node.min_pfn));
    for (std::uint64_t i = 0; i < map_pages; ++i) hand_over(node.map_pfn + i, 0);
    node.has_map = false;
    node.reserved.clear();
  }
  release.totalram_pages = static_cast<long>(total);
  released = true;
  return release;
}

// ---- ops ------------------------------------------------------------------------------------

namespace {

bool valid_nid(const Nid& nid) { return nid.value >= 0 && nid.value < BootmemModel::max_numnodes; }

// The value an op's outcome holds when the call did not return.
template <class T>
Value unreturned() {
  if constexpr (std::is_same_v<T, ReserveBootmem> || std::is_same_v<T, ReserveBootmemNode>) return Errno{0};
  else if constexpr (std::is_same_v<T, AllocBootmem> || std::is_same_v<T, AllocBootmemNode>) return Allocation{};
  else return NoValue{};
}

Allocation allocation(std::optional<Phys> addr) {
  if (!addr) return Allocation{};
  return Allocation{Allocation::Kind::memory, *addr, true};  // bootmem zeroes every block
}

}  // namespace

std::optional<Outcome> BootmemModel::run(const Op& op) {
  Outcome outcome;
  if (released) {
    outcome.status = Outcome::Status::refused;
    return outcome;
  }
  events_.clear();
  // NODE_DATA(nid)->bdata of a node never initialised: [0, 0), no bitmap.
  Node absent{};
  absent.has_map = false;
  auto on_node = [&](const Nid& nid) -> Node& {
    Node* node = node_of(nid.value);
    return node ? *node : absent;
  };

  return std::visit(
      [&](const auto& o) -> std::optional<Outcome> {
        using T = std::decay_t<decltype(o)>;
        // Outside the specification: recognised before anything changes.
        if constexpr (std::is_same_v<T, InitBootmemNode>) {
          const bool overlaps = std::any_of(nodes.begin(), nodes.end(), [&](const Node& n) {
            return o.start_pfn < n.low_pfn && n.min_pfn < o.end_pfn;
          });
          if (!valid_nid(o.nid) || node_of(o.nid.value) || o.end_pfn < o.start_pfn ||
              o.end_pfn - o.start_pfn > max_node_pages || o.end_pfn > (ULONG_MAX >> 12) || overlaps)
            return std::nullopt;
        } else if constexpr (requires { o.nid; }) {
          if (!valid_nid(o.nid)) return std::nullopt;
        }
        if constexpr (requires { o.align; o.size; }) {
          // Requests bootmem's callers never made (docs/allocators.md).
          if (o.align == 0 || o.size > ~Phys{0} - page_size + 1) return std::nullopt;
        }
        if constexpr (!is_bootmem_op_v<T>) {
          throw std::logic_error(std::string("bootmem's model does not answer ") + std::string(T::name));
        } else {
          try {
            if constexpr (std::is_same_v<T, InitBootmemNode>) {
              init_node(o.nid.value, o.start_pfn, o.end_pfn, o.map_pfn);
              outcome.value = Address{bootmap_bytes(o.end_pfn - o.start_pfn)};
            } else if constexpr (std::is_same_v<T, FreeBootmem>) {
              mark(pfn_up(o.base), pfn_down(o.base + o.size), false, false);
              outcome.value = NoValue{};
            } else if constexpr (std::is_same_v<T, FreeBootmemNode>) {
              mark_node(on_node(o.nid), pfn_up(o.base), pfn_down(o.base + o.size), false, false);
              outcome.value = NoValue{};
            } else if constexpr (std::is_same_v<T, ReserveBootmem>) {
              outcome.value = Errno{mark(pfn_down(o.base), pfn_up(o.base + o.size), true, o.exclusive)};
            } else if constexpr (std::is_same_v<T, ReserveBootmemNode>) {
              outcome.value =
                  Errno{mark_node(on_node(o.nid), pfn_down(o.base), pfn_up(o.base + o.size), true, o.exclusive)};
            } else if constexpr (std::is_same_v<T, AllocBootmem>) {
              outcome.value = allocation(alloc(o.size, o.align, o.goal, o.limit));
            } else if constexpr (std::is_same_v<T, AllocBootmemNode>) {
              outcome.value = allocation(alloc_node(o.nid.value, o.size, o.align, o.goal, o.limit));
            } else if constexpr (std::is_same_v<T, FreeAllBootmem>) {
              outcome.value = free_all();
            }
          } catch (const BootmemBug&) {
            outcome.status = Outcome::Status::aborted;
            outcome.value = unreturned<T>();
            events_.push_back(event(KernelEvent::Kind::bug));
          }
          outcome.events = events_;
          return outcome;
        }
      },
      op);
}

BootmemSnapshot BootmemModel::snapshot() const {
  BootmemSnapshot s;
  for (const Node& n : nodes) {
    BootmemNode out{n.nid, n.min_pfn, n.low_pfn, n.map_pfn, n.hint, n.last_end_off, n.has_map, {}};
    for (const auto& run : n.reserved) out.reserved.emplace_back(icl::lower(run), icl::upper(run));
    s.nodes.push_back(std::move(out));
  }
  return s;
}

}  // namespace mbfuzz::oracle
