// Internal to the device-tree boot (core/boot/dtb*.cpp): what the tree says
// before anything runs (root cells, memory nodes, /chosen, /memreserve/,
// /reserved-memory, the early parameters), read once into a Layout, and
// where the bootloader put the kernel image and the blob (place). Also the
// arm64 6.1 numbers the whole boot assumes (see dtb.cpp's top comment).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/boot/dtb.hpp"
#include "core/boot/fdt.hpp"
#include "core/op.hpp"

namespace mbfuzz::boot::dtb {

// ---- the assumed configuration's numbers (dtb.cpp's top comment) --------------------

constexpr Phys KiB = 1024;
constexpr Phys MiB = 1024 * KiB;
constexpr Phys GiB = 1024 * MiB;

// PHYS_MASK_SHIFT = CONFIG_ARM64_PA_BITS (asm/pgtable-hwdef.h:180).
constexpr unsigned pa_bits = 48;
// linear_region_size = PAGE_END - _PAGE_OFFSET(vabits_actual) = -2^47 - -2^48
// for VA_BITS 48 (asm/memory.h:44,62,80).
constexpr Phys linear_region_size = Phys{1} << 47;
// ARM64_MEMSTART_ALIGN: 1 << PUD_SHIFT with 4K pages, since PUD_SHIFT (30) is
// not below SECTION_SIZE_BITS (27) (asm/kernel-pgtable.h:131,147, asm/sparsemem.h:26).
constexpr Phys memstart_align = GiB;
// .text is ALIGN(SEGMENT_ALIGN) after .head.text, so _stext = _text + 64K
// (kernel/vmlinux.lds.S:161, asm/memory.h:131).
constexpr Phys stext_offset = 64 * KiB;
// MIN_KIMG_ALIGN: the image's 2 MiB-aligned base (asm/boot.h:18).
constexpr Phys kernel_align = 2 * MiB;
// MIN_FDT_ALIGN and MAX_FDT_SIZE, checked by fixmap_remap_fdt (asm/boot.h:12-13).
constexpr Phys fdt_align = 8;
constexpr Phys max_fdt_size = 2 * MiB;
// pageblock_order = HUGETLB_PAGE_ORDER = PMD_SHIFT - PAGE_SHIFT = 9 with 4K
// pages (linux/pageblock-flags.h:44); CMA_MIN_ALIGNMENT_BYTES = PAGE_SIZE <<
// pageblock_order (linux/cma.h:24).
constexpr unsigned pageblock_order = 9;
// MAX_CMA_AREAS = 1 + CONFIG_CMA_AREAS, 19 with NUMA (linux/cma.h:14, mm/Kconfig:883).
constexpr int max_cma_areas = 1 + 19;
// MAX_RESERVED_REGIONS (of_reserved_mem.c:29).
constexpr std::size_t max_reserved_regions = 64;
// MAX_USABLE_RANGES (fdt.c:970).
constexpr std::size_t max_usable_ranges = 2;
// COMMAND_LINE_SIZE (arm64 uapi/asm/setup.h).
constexpr std::size_t command_line_size = 2048;

inline std::string hex(Phys v) { return fmt::format("{:#x}", v); }

inline Phys align_up(Phys v, Phys a) { return (v + a - 1) & ~(a - 1); }
inline Phys align_down(Phys v, Phys a) { return v & ~(a - 1); }

// ---- what the tree says, before anything runs ---------------------------------------

struct EarlyParams {
  std::optional<Phys> mem;  // the last mem=, masked to pages
  bool cma = false;         // a cma= was given: size_cmdline != -1
};

struct MemoryEntry {
  std::string why;
  Phys base = 0;
  Phys size = 0;
  bool hotpluggable = false;
};

struct ReservedChild {
  int node = 0;
  std::string path;
  bool has_reg = false;
  bool bad_reg = false;  // length not a whole number of pairs: the node is skipped
  std::vector<Extent> reg;
  bool nomap = false;
  bool has_size = false;
};

struct Layout {
  Cells cells;
  std::vector<MemoryEntry> memory;
  std::optional<std::vector<Extent>> usable;  // linux,usable-memory-range, when used
  std::vector<Extent> memreserve;
  bool reserved_memory = false;  // /reserved-memory exists and its format is supported
  std::vector<ReservedChild> reserved;
  std::optional<Extent> elfcorehdr;
  EarlyParams params;
};

Layout read_layout(const Fdt& fdt, const DtbOptions& options, Phys page_size);

// ---- where the bootloader put things -------------------------------------------------

// early_init_dt_add_memory_arch (fdt.c:1218) with arm64's MIN_MEMBLOCK_ADDR 0
// and MAX_MEMBLOCK_ADDR U64_MAX (asm/memory.h:209): page-trim, or ignore. The
// u64 arithmetic is the kernel's, wrap-arounds included, so the clamps never fire.
std::optional<Extent> page_trimmed(Phys base, Phys size, Phys page);

struct Placement {
  Phys kernel = 0;
  Phys fdt = 0;
};

Placement place(const Fdt& fdt, const Layout& l, const DtbOptions& o, Phys page);

}  // namespace mbfuzz::boot::dtb
