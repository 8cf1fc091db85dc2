// Linux 6.1 arm64 device-tree boot as memblock calls, in the kernel's order:
//
//   setup_machine_fdt            reserve the blob                  arch/arm64/kernel/setup.c:181
//   early_init_dt_scan_nodes     root cells, /chosen, memory,      drivers/of/fdt.c:1288
//                                linux,usable-memory-range
//   arm64_memblock_init          PA bits, linear map, mem=,        arch/arm64/mm/init.c:266
//                                kernel image
//   early_init_fdt_scan_reserved_mem  /memreserve/, /reserved-memory,  drivers/of/fdt.c:630
//                                elfcorehdr
//   fdt_init_reserved_mem        sort, allocate, init hooks        drivers/of/of_reserved_mem.c:254
//
// Assumed configuration (Debian's arm64 6.1, as far as the tree's own
// defconfig and Kconfig defaults show it): 4K pages, 48-bit VA and PA,
// CONFIG_CMA + DMA_CMA with CONFIG_CMA_AREAS 19 (NUMA=y), OF_RESERVED_MEM
// (which selects DMA_DECLARE_COHERENT), CRASH_DUMP, an empty CONFIG_CMDLINE,
// no KASAN (which would shrink the linear map).
//
// Left out, although the kernel touches memblock there:
// - EFI boot (efi_init -> reserve_regions: remove(0, MAX), then add,
//   mark_nomap or reserve per EFI memory descriptor, plus the EFI memreserve
//   table): we model a plain device-tree boot, with no UEFI system table.
// - the initrd (/chosen linux,initrd-start/-end): arm64_memblock_init adds,
//   clear_nomaps and reserves its pages; we boot without one.
// - reserve_crashkernel (crashkernel= on the command line, right after
//   early_init_fdt_scan_reserved_mem): a command-line feature; kdump
//   kernels are covered through linux,usable-memory-range and elfcorehdr.
// - everything after fdt_init_reserved_mem: paging_init's page tables,
//   unflatten_device_tree's memblock_alloc, bootmem_init (the default CMA
//   area, NUMA, hugetlb CMA), swiotlb and the rest of mm_init.
// - KASLR and the 52-bit VA corner cases only move memstart_addr after the
//   trimming below (no memblock call) or do not apply to a 48-bit VA kernel.
// Of the command line only mem= and cma= are read (from /chosen bootargs).
#include "core/boot/dtb.hpp"
#include "core/boot/dtb_layout.hpp"
#include "core/boot/fdt.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mbfuzz::boot {

using namespace dtb;

namespace {

// ---- the boot itself ------------------------------------------------------------------

// lib/sort.c's heapsort (sort_r, bottom-up sift-down), index for byte
// offset; not stable, so equal keys end where the kernel puts them.
template <class T, class Cmp>
void kernel_sort(std::vector<T>& v, Cmp cmp) {
  std::size_t n = v.size();
  std::size_t a = n / 2;
  if (a == 0) return;
  for (;;) {
    std::size_t b = 0;
    std::size_t c = 0;
    std::size_t d = 0;
    if (a != 0) {
      --a;
    } else if (--n != 0) {
      std::swap(v[0], v[n]);
    } else {
      break;
    }
    for (b = a; c = 2 * b + 1, (d = c + 1) < n;) b = cmp(v[c], v[d]) >= 0 ? c : d;
    if (d == n) b = c;
    while (b != a && cmp(v[a], v[b]) >= 0) b = (b - 1) / 2;
    c = b;
    while (b != a) {
      b = (b - 1) / 2;
      std::swap(v[b], v[c]);
    }
  }
}

// struct reserved_mem, as far as memblock is concerned.
struct SavedRegion {
  int node = 0;
  std::string path;
  Phys base = 0;
  Phys size = 0;
};

// __rmem_cmp (of_reserved_mem.c:201): by base, then size.
int rmem_cmp(const SavedRegion& a, const SavedRegion& b) {
  if (a.base != b.base) return a.base < b.base ? -1 : 1;
  if (a.size != b.size) return a.size < b.size ? -1 : 1;
  return 0;
}

// A call that did not complete: the boot ends there.
struct Halted {};

enum class Hook { ok, no_match, failed };

class DtbBoot {
 public:
  DtbBoot(const Fdt& fdt, const Layout& layout, const DtbOptions& options, const Build& build, const Run& run)
      : fdt_(fdt), l_(layout), o_(options), build_(build), run_(run) {}

  std::vector<Step> boot(const Placement& where) {
    try {
      call(Reserve{where.fdt, fdt_.totalsize()},
           fmt::format("setup_machine_fdt: the device tree blob ({} bytes)", fdt_.totalsize()));
      scan_memory();
      usable_memory_range();
      memblock_init(where);
      scan_reserved_mem();
      init_reserved_mem();
    } catch (const Halted&) {
    }
    return std::move(steps_);
  }

 private:
  Outcome call(Op op, std::string why) {
    Outcome outcome = run_(op);
    steps_.push_back({std::move(op), std::move(why)});
    if (outcome.status != Outcome::Status::completed) throw Halted{};
    return outcome;
  }

  template <class V>
  const V& value(const Outcome& o) {
    if (const V* v = std::get_if<V>(&o.value)) return *v;
    throw std::logic_error("dtb_boot: run returned an unexpected value for " +
                           std::string(op_name(steps_.back().op)));
  }
  bool truth(Op op, std::string why) { return value<Truth>(call(std::move(op), std::move(why))).value; }
  int err(Op op, std::string why) { return value<Errno>(call(std::move(op), std::move(why))).value; }
  Phys address(Op op, std::string why) { return value<Address>(call(std::move(op), std::move(why))).value; }

  void scan_memory() {
    for (const MemoryEntry& m : l_.memory) {
      if (auto e = page_trimmed(m.base, m.size, build_.page_size)) call(Add{e->base, e->size}, m.why);
      if (m.hotpluggable) call(MarkHotplug{m.base, m.size}, m.why + ": hotpluggable");
    }
  }

  void usable_memory_range() {
    if (!l_.usable) return;
    const std::vector<Extent>& r = *l_.usable;
    const Extent first = r.empty() ? Extent{} : r[0];
    call(CapMemoryRange{first.base, first.size}, "/chosen linux,usable-memory-range[0]");
    for (std::size_t i = 1; i < r.size() && r[i].size != 0; ++i) {
      call(Add{r[i].base, r[i].size}, fmt::format("/chosen linux,usable-memory-range[{}]", i));
    }
  }

  // arm64_memblock_init (arch/arm64/mm/init.c:266), no initrd, no KASLR.
  void memblock_init(const Placement& where) {
    const Phys ullong_max = ~Phys{0};
    const Phys kernel_end = where.kernel + o_.kernel_size;  // __pa_symbol(_end)
    call(Remove{Phys{1} << pa_bits, ullong_max}, fmt::format("arm64_memblock_init: above PA_BITS ({})", pa_bits));
    const std::string linear = "arm64_memblock_init: beyond the linear map";
    Phys memstart = align_down(address(StartOfDram{}, "arm64_memblock_init: memstart_addr"), memstart_align);
    address(EndOfDram{}, linear + " (the VA_BITS warning)");
    call(Remove{std::max(memstart + linear_region_size, kernel_end), ullong_max}, linear);
    if (memstart + linear_region_size < address(EndOfDram{}, linear + ": kernel loaded high?")) {
      memstart = align_up(address(EndOfDram{}, linear) - linear_region_size, memstart_align);
      call(Remove{0, memstart}, linear + ": below the new memstart_addr");
    }
    if (l_.params.mem) {
      call(MemLimitRemoveMap{*l_.params.mem}, "arm64_memblock_init: mem=" + hex(*l_.params.mem));
      call(Add{where.kernel, o_.kernel_size}, "arm64_memblock_init: mem= adds back the kernel image");
    }
    call(Reserve{where.kernel + stext_offset, o_.kernel_size - stext_offset},
         "arm64_memblock_init: the kernel image, _stext to _end");
  }

  // early_init_fdt_scan_reserved_mem (fdt.c:630).
  void scan_reserved_mem() {
    for (std::size_t n = 0; n < l_.memreserve.size(); ++n) {
      call(Reserve{l_.memreserve[n].base, l_.memreserve[n].size}, fmt::format("/memreserve/ entry {}", n));
    }
    if (l_.reserved_memory) {
      for (const ReservedChild& r : l_.reserved) reserve_reg(r);
    }
    if (l_.elfcorehdr && l_.elfcorehdr->size != 0) {
      const Extent e = *l_.elfcorehdr;
      const std::string why = "/chosen linux,elfcorehdr";
      if (!truth(IsRegionReserved{e.base, e.size}, why + ": already reserved?")) call(Reserve{e.base, e.size}, why);
    }
  }

  // __reserved_mem_reserve_reg (fdt.c:500) and the dynamic case of fdt_scan_reserved_mem.
  void reserve_reg(const ReservedChild& r) {
    if (!r.has_reg) {
      if (r.has_size) save({r.node, r.path, 0, 0});
      return;
    }
    if (r.bad_reg) return;
    for (std::size_t i = 0; i < r.reg.size(); ++i) {
      const Extent e = r.reg[i];
      const std::string why = fmt::format("{} reg[{}]", r.path, i);
      if (e.size != 0) reserve_memory(e, r.nomap, why);
      if (i == 0) save({r.node, r.path, e.base, e.size});
    }
  }

  // early_init_dt_reserve_memory (fdt.c:479).
  void reserve_memory(Extent e, bool nomap, const std::string& why) {
    if (!nomap) {
      call(Reserve{e.base, e.size}, why);
      return;
    }
    if (truth(OverlapsRegion{RegionType::memory, e.base, e.size}, why + " no-map: is it memory?") &&
        truth(IsRegionReserved{e.base, e.size}, why + " no-map: already reserved? (then -EBUSY)")) {
      return;
    }
    call(MarkNomap{e.base, e.size}, why + " no-map");
  }

  // fdt_reserved_mem_save_node (of_reserved_mem.c:62).
  void save(SavedRegion s) {
    if (saved_.size() < max_reserved_regions) saved_.push_back(std::move(s));
  }

  // fdt_init_reserved_mem (of_reserved_mem.c:254).
  void init_reserved_mem() {
    if (saved_.size() >= 2) kernel_sort(saved_, rmem_cmp);
    for (SavedRegion& s : saved_) {
      const bool nomap = fdt_.has(s.node, "no-map");
      if (s.size == 0 && !alloc_size(s)) continue;
      const Hook h = init_node(s);
      if (h != Hook::failed) continue;
      const std::string why = s.path + ": its init hook failed";
      if (nomap) {
        call(ClearNomap{s.base, s.size}, why);
      } else {
        call(PhysFree{s.base, s.size}, why);
      }
    }
  }

  // __reserved_mem_alloc_size (of_reserved_mem.c:85).
  bool alloc_size(SavedRegion& s) {
    const Cells& c = l_.cells;
    auto size_prop = fdt_.prop(s.node, "size");
    if (!size_prop || size_prop->size() != static_cast<std::size_t>(c.size) * 4) return false;
    const Phys size = Fdt::number(*size_prop, 0, c.size);
    Phys align = 0;
    if (auto a = fdt_.prop(s.node, "alignment")) {
      if (a->size() != static_cast<std::size_t>(c.addr) * 4) return false;
      align = Fdt::number(*a, 0, c.addr);
    }
    const bool nomap = fdt_.has(s.node, "no-map");
    if (fdt_.compatible(s.node, "shared-dma-pool") && fdt_.has(s.node, "reusable") && !nomap) {
      align = std::max(align, cma_alignment());
    }
    Phys base = 0;
    if (auto ranges = fdt_.prop(s.node, "alloc-ranges")) {
      if (ranges->size() % c.pair_bytes() != 0) return false;
      const auto r = pairs(*ranges, c);
      for (std::size_t i = 0; i < r.size(); ++i) {
        const std::string why = fmt::format("{}: alloc-ranges[{}]", s.path, i);
        if (alloc_arch(size, align, r[i].base, r[i].base + r[i].size, nomap, base, why)) break;
      }
    } else {
      alloc_arch(size, align, 0, 0, nomap, base, s.path + ": size, no alloc-ranges");
    }
    if (base == 0) return false;
    s.base = base;
    s.size = size;
    return true;
  }

  // early_init_dt_alloc_reserved_memory_arch (of_reserved_mem.c:33).
  bool alloc_arch(Phys size, Phys align, Phys start, Phys end, bool nomap, Phys& res_base, const std::string& why) {
    const Limit limit{end == 0 ? Limit::anywhere : end};
    const Phys a = align == 0 ? build_.smp_cache_bytes : align;
    const Phys base = address(PhysAllocRange{size, a, start, limit}, why);
    if (base == 0) return false;
    res_base = base;
    if (nomap && err(MarkNomap{base, size}, why + " no-map") != 0) {
      call(PhysFree{base, size}, why + ": mark_nomap failed");
      return false;
    }
    return true;
  }

  Phys cma_alignment() const { return build_.page_size << pageblock_order; }

  // __reserved_mem_init_node (of_reserved_mem.c:178): the RESERVEDMEM_OF_DECLARE
  // table in link order (kernel/dma/Makefile: contiguous.o, coherent.o, swiotlb.o).
  Hook init_node(const SavedRegion& s) {
    Hook ret = Hook::no_match;
    if (fdt_.compatible(s.node, "shared-dma-pool")) {
      ret = cma_setup(s);
      if (ret == Hook::ok) return ret;
      ret = fdt_.has(s.node, "reusable") ? Hook::failed : Hook::ok;  // rmem_dma_setup
      if (ret == Hook::ok) return ret;
    }
    if (o_.restricted_dma_pool && fdt_.compatible(s.node, "restricted-dma-pool")) {
      const bool refused = fdt_.has(s.node, "reusable") || fdt_.has(s.node, "linux,cma-default") ||
                           fdt_.has(s.node, "linux,dma-default") || fdt_.has(s.node, "no-map");
      ret = refused ? Hook::failed : Hook::ok;  // rmem_swiotlb_setup
    }
    return ret;
  }

  // rmem_cma_setup (kernel/dma/contiguous.c:399) and cma_init_reserved_mem (mm/cma.c:173).
  Hook cma_setup(const SavedRegion& s) {
    if (l_.params.cma && fdt_.has(s.node, "linux,cma-default")) return Hook::failed;
    if (!fdt_.has(s.node, "reusable") || fdt_.has(s.node, "no-map")) return Hook::failed;
    if (((s.base | s.size) & (cma_alignment() - 1)) != 0) return Hook::failed;
    if (cma_areas_ == max_cma_areas) return Hook::failed;
    if (s.size == 0 || !truth(IsRegionReserved{s.base, s.size}, s.path + ": CMA wants it reserved")) {
      return Hook::failed;
    }
    ++cma_areas_;
    return Hook::ok;
  }

  const Fdt& fdt_;
  const Layout& l_;
  const DtbOptions& o_;
  const Build& build_;
  const Run& run_;
  std::vector<Step> steps_;
  std::vector<SavedRegion> saved_;
  int cma_areas_ = 0;
};

}  // namespace

std::vector<Step> dtb_boot(std::span<const std::uint8_t> blob, const std::string& source,
                           const DtbOptions& options, const Build& build, const Run& run) {
  if (build.phys_bits != 64) {
    throw std::invalid_argument(fmt::format("dtb_boot: arm64 has a 64-bit phys_addr_t, build {} has {} bits",
                                            build.name, build.phys_bits));
  }
  const Fdt fdt(blob, source);
  if (fdt.totalsize() > max_fdt_size) {
    fdt.fail("header", fmt::format("totalsize {} exceeds arm64's MAX_FDT_SIZE (2 MiB)", fdt.totalsize()));
  }
  const Layout layout = read_layout(fdt, options, build.page_size);
  const Placement where = place(fdt, layout, options, build.page_size);
  return DtbBoot(fdt, layout, options, build, run).boot(where);
}

std::vector<Step> dtb_boot_file(const std::filesystem::path& path, const DtbOptions& options,
                                const Build& build, const Run& run) {
  const std::string blob = read_layout_file(path);
  return dtb_boot(std::span(reinterpret_cast<const std::uint8_t*>(blob.data()), blob.size()), path.string(),
                  options, build, run);
}

}  // namespace mbfuzz::boot
