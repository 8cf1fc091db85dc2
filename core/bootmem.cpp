#include "core/bootmem.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/host.hpp"
#include "core/kernel/bootmem_bridge.h"

namespace mbfuzz {
namespace {

bool in_use = false;

// Did the memsets recorded during the call cover [start, end)?
bool zeroed_during_call(Phys start, Phys end) {
  auto zeroed = host::recording().zeroed;
  std::sort(zeroed.begin(), zeroed.end());
  Phys reached = start;
  for (auto [s, e] : zeroed) {
    if (s > reached) break;
    reached = std::max(reached, e);
  }
  return reached >= end;
}

int flags_of(bool exclusive) { return exclusive ? BM_EXCLUSIVE : 0; }

// One bootmem call per op; returns the call's status and fills `value`.
class Caller {
 public:
  Value value;

  int operator()(const InitBootmemNode& op) {
    std::uint64_t mapsize = 0;
    int status = bm_kernel.init_node(op.nid.value, op.start_pfn, op.end_pfn, op.map_pfn, &mapsize);
    value = Address{mapsize};
    return status;
  }
  int operator()(const FreeBootmem& op) { return none(bm_kernel.free(op.base, op.size)); }
  int operator()(const FreeBootmemNode& op) {
    return none(bm_kernel.free_node(op.nid.value, op.base, op.size));
  }
  int operator()(const ReserveBootmem& op) {
    int ret = 0;
    int status = bm_kernel.reserve(op.base, op.size, flags_of(op.exclusive), &ret);
    value = Errno{ret};
    return status;
  }
  int operator()(const ReserveBootmemNode& op) {
    int ret = 0;
    int status = bm_kernel.reserve_node(op.nid.value, op.base, op.size, flags_of(op.exclusive), &ret);
    value = Errno{ret};
    return status;
  }
  int operator()(const AllocBootmem& op) {
    int found = 0;
    std::uint64_t phys = 0;
    int status = bm_kernel.alloc(op.size, op.align, op.goal, op.limit, &found, &phys);
    value = allocation(found, phys, op.size);
    return status;
  }
  int operator()(const AllocBootmemNode& op) {
    int found = 0;
    std::uint64_t phys = 0;
    int status = bm_kernel.alloc_node(op.nid.value, op.size, op.align, op.goal, op.limit, &found, &phys);
    value = allocation(found, phys, op.size);
    return status;
  }
  int operator()(const FreeAllBootmem&) {
    std::uint64_t pages = 0;
    int status = bm_kernel.free_all(&pages);
    value = host::recording().buddy;
    return status;
  }

  template <class T>
    requires(!is_bootmem_op_v<T>)
  int operator()(const T&) {
    throw std::logic_error(std::string("bootmem does not answer ") + std::string(T::name));
  }

 private:
  int none(int status) {
    value = NoValue{};
    return status;
  }
  static Allocation allocation(int found, std::uint64_t phys, Phys size) {
    if (!found) return Allocation{};
    return Allocation{Allocation::Kind::memory, phys, zeroed_during_call(phys, phys + size)};
  }
};

void collect_run(void* ctx, std::uint64_t start, std::uint64_t end) {
  static_cast<BootmemNode*>(ctx)->reserved.emplace_back(start, end);
}

}  // namespace

ProductionBootmem::ProductionBootmem() {
  if (in_use) throw std::logic_error("a ProductionBootmem already exists");
  in_use = true;
  reset();
}

ProductionBootmem::~ProductionBootmem() {
  bm_kernel.reset();
  host::reset_memory();
  in_use = false;
}

void ProductionBootmem::reset() {
  bm_kernel.reset();
  host::reset_memory();
  host::start_recording();
  released_ = false;
}

Outcome ProductionBootmem::run(const Op& op) {
  Outcome outcome;
  host::start_recording();
  if (released_) {
    outcome.status = Outcome::Status::refused;
    return outcome;
  }
  Caller caller;
  int status = std::visit(caller, op);
  outcome.status = status == MB_DONE ? Outcome::Status::completed : Outcome::Status::aborted;
  outcome.value = std::move(caller.value);
  outcome.events = host::recording().events;
  if (std::holds_alternative<FreeAllBootmem>(op)) released_ = true;
  return outcome;
}

BootmemSnapshot ProductionBootmem::snapshot() const {
  std::vector<bm_node_info> raw(BM_MAX_NUMNODES);
  raw.resize(bm_kernel.nodes(raw.data(), raw.size()));
  BootmemSnapshot s;
  for (const bm_node_info& n : raw) {
    BootmemNode node{n.nid, n.node_min_pfn, n.node_low_pfn, n.map_pfn, n.hint_idx, n.last_end_off,
                     n.has_map != 0, {}};
    bm_kernel.reserved_runs(n.nid, collect_run, &node);
    s.nodes.push_back(std::move(node));
  }
  return s;
}

}  // namespace mbfuzz
