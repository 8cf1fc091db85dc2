// The whole observable state of a memblock as plain data: both region
// arrays exactly as the kernel holds them (the empty dummy entry included),
// and the globals that steer allocation.
#pragma once

#include <cstdint>
#include <vector>

#include "core/op.hpp"

namespace mbfuzz {

struct Region {
  Phys base = 0;
  Phys size = 0;
  std::uint32_t flags = 0;
  int nid = 0;  // 0 when the variant has no CONFIG_NUMA
  Phys end() const { return base + size; }
  bool operator==(const Region&) const = default;
};

struct RegionArray {
  std::uint64_t cnt = 0;
  std::uint64_t max = 0;
  Phys total_size = 0;
  bool in_static_array = true;  // false once memblock_double_array moved it
  std::vector<Region> regions;  // cnt entries
  bool operator==(const RegionArray&) const = default;
};

struct Snapshot {
  RegionArray memory;
  RegionArray reserved;
  bool bottom_up = false;
  Phys current_limit = 0;
  bool can_resize = false;       // memblock_allow_resize() was called
  bool has_some_mirror = false;  // memblock_mark_mirror() took effect
  bool discarded = false;
  bool operator==(const Snapshot&) const = default;
};

}  // namespace mbfuzz
