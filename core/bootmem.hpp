// The bootmem allocator (core/kernel/bootmem.c) driven through the op
// vocabulary: the second system under test. It answers the bootmem calls
// only; memblock answers them too, through core/nobootmem.hpp.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "core/op.hpp"
#include "core/outcome.hpp"

struct bm_kernel;

namespace mbfuzz {

// A build of bootmem.c: as written, or (in test builds) one of the broken
// copies of ci/bootmem-mutants.list that the checks are seen to catch.
struct BootmemBuild {
  std::string_view name;  // "bootmem", or the mutant's name
  const bm_kernel* kernel = nullptr;
};

const BootmemBuild& bootmem_as_written();
// Empty unless the program was built with the tests.
std::span<const BootmemBuild> broken_bootmem_builds();

// One node's bootmem_data as plain data.
struct BootmemNode {
  int nid = 0;
  std::uint64_t min_pfn = 0;  // node_min_pfn
  std::uint64_t low_pfn = 0;  // node_low_pfn: the node is [min_pfn, low_pfn)
  std::uint64_t map_pfn = 0;  // where the bitmap lies
  std::uint64_t hint_idx = 0;       // where the next search starts, from min_pfn
  std::uint64_t last_end_off = 0;   // where the last allocation ended, in bytes from the node's start
  bool has_map = true;              // false once free_all_bootmem handed the node over
  std::vector<std::pair<std::uint64_t, std::uint64_t>> reserved;  // runs [start, end) of set bits
  bool operator==(const BootmemNode&) const = default;
};

// The nodes in bdata_list order (ascending min_pfn).
struct BootmemSnapshot {
  std::vector<BootmemNode> nodes;
  bool operator==(const BootmemSnapshot&) const = default;
};

class ProductionBootmem {
 public:
  // bootmem's state is global to each build: one instance at a time.
  explicit ProductionBootmem(const BootmemBuild& build = bootmem_as_written());
  ~ProductionBootmem();
  ProductionBootmem(const ProductionBootmem&) = delete;
  ProductionBootmem& operator=(const ProductionBootmem&) = delete;

  void reset();

  // A bootmem op (is_bootmem_op); any other op is a logic error. Once
  // free_all_bootmem has run, every call is refused: the buddy allocator
  // owns the pages and bootmem's bitmaps are gone.
  Outcome run(const Op& op);

  BootmemSnapshot snapshot() const;

  const BootmemBuild& build() const { return build_; }

 private:
  const BootmemBuild& build_;
  bool released_ = false;
};

}  // namespace mbfuzz
