// The builds of the production memblock.c linked into every mbfuzz program:
// CONFIG_NUMA off/on times a 64/32-bit phys_addr_t.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/op.hpp"

struct mb_kernel;

namespace mbfuzz {

// How a variant was built: the facts an oracle needs as version knobs.
struct Build {
  std::string_view name;
  std::string_view kernel_version;
  bool numa = false;
  int max_numnodes = 1;
  int phys_bits = 64;
  Phys page_size = 4096;
  Phys smp_cache_bytes = 64;
  std::uint64_t init_regions = 128;
  unsigned max_order = 11;
  // PHYS_ADDR_MAX: the largest value of phys_addr_t.
  Phys phys_addr_max() const { return phys_bits == 64 ? ~Phys{0} : (Phys{1} << phys_bits) - 1; }
};

class Variant {
 public:
  explicit Variant(const mb_kernel& kernel);
  const Build& build() const { return build_; }
  std::string_view name() const { return build_.name; }
  const mb_kernel& kernel() const { return *kernel_; }

 private:
  const mb_kernel* kernel_;
  Build build_;
};

std::span<const Variant> all_variants();

// nullptr when no variant has that name.
const Variant* find_variant(std::string_view name);

// The variant used when none is asked for: NUMA on, 64-bit phys_addr_t.
const Variant& default_variant();

}  // namespace mbfuzz
