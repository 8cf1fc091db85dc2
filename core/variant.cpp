#include "core/variant.hpp"

#include <array>

#include "core/kernel/memblock_bridge.h"

namespace mbfuzz {

Variant::Variant(const mb_kernel& kernel) : kernel_(&kernel) {
  const mb_build& b = kernel.build;
  build_ = Build{
      .name = b.name,
      .kernel_version = b.kernel_version,
      .numa = b.numa != 0,
      .max_numnodes = b.max_numnodes,
      .phys_bits = b.phys_bits,
      .page_size = b.page_size,
      .smp_cache_bytes = b.smp_cache_bytes,
      .init_regions = b.init_regions,
      .max_order = b.max_order,
  };
}

std::span<const Variant> all_variants() {
  static const std::array variants{
      Variant{mb_kernel_numa64},
      Variant{mb_kernel_uma64},
      Variant{mb_kernel_numa32},
      Variant{mb_kernel_uma32},
  };
  return variants;
}

const Variant* find_variant(std::string_view name) {
  for (const Variant& v : all_variants())
    if (v.name() == name) return &v;
  return nullptr;
}

const Variant& default_variant() { return all_variants().front(); }

}  // namespace mbfuzz
