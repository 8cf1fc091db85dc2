// Everything in memblock's specification that depends on the kernel version
// or the build, in one place.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/variant.hpp"

namespace mbfuzz::oracle {

struct Knobs {
  Phys page_size = 4096;
  Phys smp_cache_bytes = 64;          // what align == 0 means
  std::uint64_t init_regions = 128;   // INIT_MEMBLOCK_REGIONS: initial capacity of each array
  bool empty_array_has_dummy = true;  // 6.1: an empty array holds one empty entry (cnt == 1); 6.11+: cnt == 0
  int phys_bits = 64;                 // width of phys_addr_t
  bool numa = true;                   // CONFIG_NUMA: regions carry node ids
  int max_numnodes = 16;              // MAX_NUMNODES: the node of memblock_add()ed memory
  unsigned max_order = 11;            // buddy blocks are at most 2^(max_order - 1) pages
  Phys low_limit = 0xffffffff;        // ARCH_LOW_ADDRESS_LIMIT, memblock_alloc_low's bound
  std::uint64_t kmalloc_max = 4 << 20;  // KMALLOC_MAX_SIZE: larger kmallocs fail
  std::uint64_t region_size = 24;     // sizeof(struct memblock_region): sizes the arrays

  Phys phys_addr_max() const { return phys_bits == 64 ? ~Phys{0} : (Phys{1} << phys_bits) - 1; }

  static Knobs for_build(const Build& b) {
    Knobs k;
    k.page_size = b.page_size;
    k.smp_cache_bytes = b.smp_cache_bytes;
    k.init_regions = b.init_regions;
    k.phys_bits = b.phys_bits;
    k.numa = b.numa;
    k.max_numnodes = b.max_numnodes;
    k.max_order = b.max_order;
    // "mm/memblock: remove empty dummy entry" (721f4a6526da) is in 6.11.
    int major = 0, minor = 0;
    std::sscanf(std::string(b.kernel_version).c_str(), "%d.%d", &major, &minor);
    k.empty_array_has_dummy = major < 6 || (major == 6 && minor < 11);
    // base and size are phys_addr_t, flags an enum, nid an int when NUMA;
    // the struct is padded to the alignment of phys_addr_t.
    std::uint64_t phys = static_cast<std::uint64_t>(b.phys_bits) / 8;
    std::uint64_t raw = 2 * phys + 4 + (b.numa ? 4 : 0);
    k.region_size = (raw + phys - 1) / phys * phys;
    return k;
  }
};

}  // namespace mbfuzz::oracle
