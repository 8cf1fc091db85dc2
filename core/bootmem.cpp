#include "core/bootmem.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/host.hpp"
#include "core/kernel/bootmem_bridge.h"

namespace mbfuzz {
namespace {

std::vector<BootmemBuild> broken_builds() {
  std::vector<BootmemBuild> builds;
  for (std::size_t i = 0; i < bm_broken_count; ++i)
    builds.push_back(BootmemBuild{bm_broken_builds[i].name, bm_broken_builds[i].kernel});
  return builds;
}


int flags_of(bool exclusive) { return exclusive ? BM_EXCLUSIVE : 0; }

// One bootmem call per op; returns the call's status and fills `value`.
class Caller {
 public:
  explicit Caller(const bm_kernel& k) : k_(k) {}

  Value value;

  int operator()(const InitBootmemNode& op) {
    std::uint64_t mapsize = 0;
    int status = k_.init_node(op.nid.value, op.start_pfn, op.end_pfn, op.map_pfn, &mapsize);
    value = Address{mapsize};
    return status;
  }
  int operator()(const FreeBootmem& op) { return none(k_.free(op.base, op.size)); }
  int operator()(const FreeBootmemNode& op) {
    return none(k_.free_node(op.nid.value, op.base, op.size));
  }
  int operator()(const ReserveBootmem& op) {
    int ret = 0;
    int status = k_.reserve(op.base, op.size, flags_of(op.exclusive), &ret);
    value = Errno{ret};
    return status;
  }
  int operator()(const ReserveBootmemNode& op) {
    int ret = 0;
    int status = k_.reserve_node(op.nid.value, op.base, op.size, flags_of(op.exclusive), &ret);
    value = Errno{ret};
    return status;
  }
  int operator()(const AllocBootmem& op) {
    int found = 0;
    std::uint64_t phys = 0;
    int status = k_.alloc(op.size, op.align, op.goal, op.limit, &found, &phys);
    value = allocation(found, phys, op.size);
    return status;
  }
  int operator()(const AllocBootmemNode& op) {
    int found = 0;
    std::uint64_t phys = 0;
    int status = k_.alloc_node(op.nid.value, op.size, op.align, op.goal, op.limit, &found, &phys);
    value = allocation(found, phys, op.size);
    return status;
  }
  int operator()(const FreeAllBootmem&) {
    std::uint64_t pages = 0;
    int status = k_.free_all(&pages);
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
    return Allocation{Allocation::Kind::memory, phys, host::zeroed_during_call(phys, phys + size)};
  }

  const bm_kernel& k_;
};

void collect_run(void* ctx, std::uint64_t start, std::uint64_t end) {
  static_cast<BootmemNode*>(ctx)->reserved.emplace_back(start, end);
}

// One ProductionBootmem per build at a time: its state is the build's globals.
std::vector<const bm_kernel*>& in_use() {
  static std::vector<const bm_kernel*> kernels;
  return kernels;
}

}  // namespace

const BootmemBuild& bootmem_as_written() {
  static const BootmemBuild build{"bootmem", &bm_bootmem};
  return build;
}

std::span<const BootmemBuild> broken_bootmem_builds() {
  static const std::vector<BootmemBuild> builds = broken_builds();
  return builds;
}

ProductionBootmem::ProductionBootmem(const BootmemBuild& build) : build_(build) {
  auto& kernels = in_use();
  if (std::find(kernels.begin(), kernels.end(), build_.kernel) != kernels.end())
    throw std::logic_error("a ProductionBootmem of " + std::string(build_.name) + " already exists");
  kernels.push_back(build_.kernel);
  reset();
}

ProductionBootmem::~ProductionBootmem() {
  build_.kernel->reset();
  host::reset_memory();
  auto& kernels = in_use();
  kernels.erase(std::find(kernels.begin(), kernels.end(), build_.kernel));
}

void ProductionBootmem::reset() {
  build_.kernel->reset();
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
  Caller caller(*build_.kernel);
  int status = std::visit(caller, op);
  outcome.status = status == MB_DONE ? Outcome::Status::completed : Outcome::Status::aborted;
  outcome.value = std::move(caller.value);
  outcome.events = host::recording().events;
  if (std::holds_alternative<FreeAllBootmem>(op)) released_ = true;
  return outcome;
}

BootmemSnapshot ProductionBootmem::snapshot() const {
  std::vector<bm_node_info> raw(BM_MAX_NUMNODES);
  const bm_kernel& k = *build_.kernel;
  raw.resize(k.nodes(raw.data(), raw.size()));
  BootmemSnapshot s;
  for (const bm_node_info& n : raw) {
    BootmemNode node{n.nid, n.node_min_pfn, n.node_low_pfn, n.map_pfn, n.hint_idx, n.last_end_off,
                     n.has_map != 0, {}};
    k.reserved_runs(n.nid, collect_run, &node);
    s.nodes.push_back(std::move(node));
  }
  return s;
}

}  // namespace mbfuzz
