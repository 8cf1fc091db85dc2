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

#include <libfdt.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace mbfuzz::boot {
namespace {

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

std::string hex(Phys v) { return fmt::format("{:#x}", v); }

Phys align_up(Phys v, Phys a) { return (v + a - 1) & ~(a - 1); }
Phys align_down(Phys v, Phys a) { return v & ~(a - 1); }

// [base, base + size), with an end that saturates instead of wrapping.
struct Extent {
  Phys base = 0;
  Phys size = 0;
  Phys end() const { return size > ~Phys{0} - base ? ~Phys{0} : base + size; }
  bool overlaps(const Extent& o) const {
    return size != 0 && o.size != 0 && base < o.end() && o.base < end();
  }
};

// ---- reading the blob ---------------------------------------------------------

class Fdt {
 public:
  Fdt(std::span<const std::uint8_t> blob, std::string source) : source_(std::move(source)) {
    if (blob.size() < sizeof(fdt_header)) {
      fail("offset 0", fmt::format("not a device tree blob: {} bytes, shorter than the "
                                   "{}-byte header", blob.size(), sizeof(fdt_header)));
    }
    // libfdt reads the blob in place; give it the alignment a loader would.
    storage_.resize((blob.size() + 7) / 8);
    std::copy(blob.begin(), blob.end(), reinterpret_cast<std::uint8_t*>(storage_.data()));
    if (fdt_magic(raw()) != FDT_MAGIC) {
      fail("offset 0", fmt::format("not a device tree blob: magic {:#010x}, want {:#010x}",
                                   fdt_magic(raw()), FDT_MAGIC));
    }
    if (fdt_totalsize(raw()) > blob.size()) {
      fail(fmt::format("offset {}", blob.size()),
           fmt::format("truncated: the header's totalsize is {} bytes, the blob has {}",
                       fdt_totalsize(raw()), blob.size()));
    }
    if (int e = fdt_check_header(raw()); e != 0) fail("header", fdt_strerror(e));
    if (int e = fdt_check_full(raw(), blob.size()); e != 0) fail("structure block", fdt_strerror(e));
  }

  const void* raw() const { return storage_.data(); }
  const std::string& source() const { return source_; }
  Phys totalsize() const { return fdt_totalsize(raw()); }

  [[noreturn]] void fail(const std::string& place, const std::string& message) const {
    throw BootError(source_, place, message);
  }

  std::string path(int node) const {
    std::array<char, 1024> buf{};
    if (int e = fdt_get_path(raw(), node, buf.data(), static_cast<int>(buf.size())); e != 0) {
      return fmt::format("node at offset {}", node);
    }
    return buf.data();
  }

  // A node by path; nullopt when there is none.
  std::optional<int> node(const char* path_name) const {
    int off = fdt_path_offset(raw(), path_name);
    if (off == -FDT_ERR_NOTFOUND) return std::nullopt;
    if (off < 0) fail(path_name, fdt_strerror(off));
    return off;
  }

  std::optional<std::span<const std::uint8_t>> prop(int node, const char* name) const {
    int len = 0;
    const void* p = fdt_getprop(raw(), node, name, &len);
    if (p == nullptr) {
      if (len == -FDT_ERR_NOTFOUND) return std::nullopt;
      fail(path(node), fmt::format("property {}: {}", name, fdt_strerror(len)));
    }
    return std::span(static_cast<const std::uint8_t*>(p), static_cast<std::size_t>(len));
  }

  bool has(int node, const char* name) const { return prop(node, name).has_value(); }

  // A string property up to its first NUL (strcmp's view of it).
  std::optional<std::string_view> string(int node, const char* name) const {
    auto p = prop(node, name);
    if (!p) return std::nullopt;
    std::string_view s(reinterpret_cast<const char*>(p->data()), p->size());
    return s.substr(0, s.find('\0'));
  }

  // A one-cell property read as be32_to_cpup does.
  std::optional<std::uint32_t> u32(int node, const char* name) const {
    auto p = prop(node, name);
    if (!p) return std::nullopt;
    if (p->size() < 4) fail(path(node), fmt::format("{} is {} bytes, shorter than a cell", name, p->size()));
    return cell(*p, 0);
  }

  std::vector<int> subnodes(int parent) const {
    std::vector<int> nodes;
    int child = fdt_first_subnode(raw(), parent);
    for (; child >= 0; child = fdt_next_subnode(raw(), child)) nodes.push_back(child);
    if (child != -FDT_ERR_NOTFOUND) fail(path(parent), fdt_strerror(child));
    return nodes;
  }

  // of_fdt_device_is_available(): no status, "okay" or "ok".
  bool available(int node) const {
    auto status = string(node, "status");
    return !status || *status == "okay" || *status == "ok";
  }

  // of_fdt_is_compatible(): any entry of the list, compared with strcasecmp.
  bool compatible(int node, std::string_view compat) const {
    auto p = prop(node, "compatible");
    if (!p) return false;
    std::string_view list(reinterpret_cast<const char*>(p->data()), p->size());
    while (!list.empty()) {
      std::string_view entry = list.substr(0, list.find('\0'));
      if (std::equal(entry.begin(), entry.end(), compat.begin(), compat.end(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          })) {
        return true;
      }
      list.remove_prefix(std::min(list.size(), entry.size() + 1));
    }
    return false;
  }

  static std::uint32_t cell(std::span<const std::uint8_t> p, std::size_t i) {
    return std::uint32_t{p[4 * i]} << 24 | std::uint32_t{p[4 * i + 1]} << 16 |
           std::uint32_t{p[4 * i + 2]} << 8 | std::uint32_t{p[4 * i + 3]};
  }

  // of_read_number(): n cells, big-endian, the low 64 bits kept.
  static Phys number(std::span<const std::uint8_t> p, std::size_t first, int n) {
    Phys v = 0;
    for (int k = 0; k < n; ++k) v = v << 32 | cell(p, first + static_cast<std::size_t>(k));
    return v;
  }

 private:
  std::vector<std::uint64_t> storage_;
  std::string source_;
};

struct Cells {
  int addr = 1;  // OF_ROOT_NODE_ADDR_CELLS_DEFAULT (drivers/of/of_private.h:35)
  int size = 1;  // OF_ROOT_NODE_SIZE_CELLS_DEFAULT (drivers/of/of_private.h:38)
  std::size_t pair_bytes() const { return static_cast<std::size_t>(addr + size) * 4; }
};

// (address, size) pairs of a property whose length is a whole number of pairs.
std::vector<Extent> pairs(std::span<const std::uint8_t> p, const Cells& c) {
  std::vector<Extent> out;
  const std::size_t step = static_cast<std::size_t>(c.addr + c.size);
  for (std::size_t i = 0; (i + 1) * c.pair_bytes() <= p.size(); ++i) {
    out.push_back({Fdt::number(p, i * step, c.addr),
                   Fdt::number(p, i * step + static_cast<std::size_t>(c.addr), c.size)});
  }
  return out;
}

// ---- the command line ------------------------------------------------------------

// memparse(): simple_strtoull with base 0 (0x hex, 0 octal), wrapping, then
// one K/M/G/T/P/E suffix (lib/cmdline.c:150).
Phys memparse(std::string_view s) {
  unsigned base = 10;
  std::size_t i = 0;
  if (!s.empty() && s[0] == '0') {
    if (s.size() > 2 && (s[1] == 'x' || s[1] == 'X') && std::isxdigit(static_cast<unsigned char>(s[2]))) {
      base = 16;
      i = 2;
    } else {
      base = 8;
    }
  }
  Phys v = 0;
  for (; i < s.size(); ++i) {
    const int c = std::tolower(static_cast<unsigned char>(s[i]));
    const int digit = std::isdigit(c) ? c - '0' : std::isxdigit(c) ? c - 'a' + 10 : 99;
    if (digit >= static_cast<int>(base)) break;
    v = v * base + static_cast<unsigned>(digit);
  }
  const std::string_view suffixes = "kmgtpe";
  if (i < s.size()) {
    const auto at = suffixes.find(static_cast<char>(std::tolower(static_cast<unsigned char>(s[i]))));
    if (at != std::string_view::npos) v <<= 10 * (at + 1);
  }
  return v;
}

struct EarlyParams {
  std::optional<Phys> mem;  // the last mem=, masked to pages
  bool cma = false;         // a cma= was given: size_cmdline != -1
};

// parse_early_param() over next_arg()'s split (lib/cmdline.c:227): quotes
// group, a value loses its surrounding quotes, "--" ends the kernel's part.
EarlyParams early_params(std::string_view line, Phys page_size) {
  EarlyParams params;
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  std::size_t pos = 0;
  while (pos < line.size() && space(line[pos])) ++pos;
  while (pos < line.size()) {
    const bool quoted = line[pos] == '"';
    const std::size_t start = pos + (quoted ? 1 : 0);
    bool in_quote = quoted;
    std::size_t equals = 0;  // 0: none, as in next_arg
    std::size_t i = 0;
    for (; start + i < line.size(); ++i) {
      const char c = line[start + i];
      if (space(c) && !in_quote) break;
      if (equals == 0 && c == '=') equals = i;
      if (c == '"') in_quote = !in_quote;
    }
    std::string_view token = line.substr(start, i);
    if (quoted && !token.empty() && token.back() == '"') token.remove_suffix(1);
    std::string_view param = equals ? token.substr(0, equals) : token;
    std::optional<std::string_view> val;
    if (equals) {
      std::string_view v = token.substr(std::min(token.size(), equals + 1));
      if (!v.empty() && v.front() == '"') {
        v.remove_prefix(1);
        if (!quoted && !v.empty() && v.back() == '"') v.remove_suffix(1);
      }
      val = v;
    }
    pos = start + i;
    while (pos < line.size() && space(line[pos])) ++pos;
    if (!val && param == "--") break;
    // early_mem (arch/arm64/mm/init.c:254) and early_cma (kernel/dma/contiguous.c).
    if (param == "mem" && val) params.mem = memparse(*val) & ~(page_size - 1);
    if (param == "cma" && val) params.cma = memparse(*val) != ~Phys{0};
  }
  return params;
}

// ---- what the tree says, before anything runs ---------------------------------------

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

Cells root_cells(const Fdt& fdt) {
  auto root = fdt.node("/");
  if (!root) fdt.fail("/", "no root node");
  Cells c;
  if (auto v = fdt.u32(*root, "#size-cells")) c.size = static_cast<int>(std::min<std::uint32_t>(*v, 3));
  if (auto v = fdt.u32(*root, "#address-cells")) c.addr = static_cast<int>(std::min<std::uint32_t>(*v, 3));
  // The kernel reads any count (of_read_number keeps the low 64 bits) and
  // loops forever on 0 + 0; neither describes a real machine.
  if (c.addr > 2 || c.size > 2) {
    fdt.fail("/", fmt::format("#address-cells/#size-cells beyond 2 ({}/{}): addresses wider than 64 bits",
                              c.addr, c.size));
  }
  if (c.addr + c.size == 0) fdt.fail("/", "#address-cells and #size-cells are both 0");
  return c;
}

// early_init_dt_scan_memory (fdt.c:1096): device_type "memory" children of
// the root. The kernel ignores a trailing partial entry; we call it malformed.
std::vector<MemoryEntry> memory_entries(const Fdt& fdt, const Cells& cells) {
  std::vector<MemoryEntry> out;
  for (int node : fdt.subnodes(0)) {
    if (fdt.string(node, "device_type") != "memory" || !fdt.available(node)) continue;
    const char* name = "linux,usable-memory";
    auto reg = fdt.prop(node, name);
    if (!reg) reg = fdt.prop(node, name = "reg");
    if (!reg) continue;
    if (reg->size() % cells.pair_bytes() != 0) {
      fdt.fail(fdt.path(node), fmt::format("{} is {} bytes, not a multiple of {} cells ({} bytes)", name,
                                           reg->size(), cells.addr + cells.size, cells.pair_bytes()));
    }
    const bool hotpluggable = fdt.has(node, "hotpluggable");
    const auto entries = pairs(*reg, cells);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].size == 0) continue;
      out.push_back({fmt::format("memory node {} {}[{}]", fdt.path(node), name, i), entries[i].base,
                     entries[i].size, hotpluggable});
    }
  }
  return out;
}

std::optional<int> chosen(const Fdt& fdt) {
  if (auto n = fdt.node("/chosen")) return n;
  return fdt.node("/chosen@0");
}

// early_init_dt_check_for_usable_mem_range (fdt.c:977). Its length check
// compares bytes with cells; a length that passes it but is not a whole
// number of pairs makes the kernel read past the property.
std::optional<std::vector<Extent>> usable_ranges(const Fdt& fdt, int node, const Cells& cells) {
  auto p = fdt.prop(node, "linux,usable-memory-range");
  const auto step = static_cast<std::size_t>(cells.addr + cells.size);
  if (!p || p->size() % step != 0) return std::nullopt;
  // for (i = 0; i < MAX_USABLE_RANGES && prop < endp; i++): whole pairs or not
  const std::size_t cells_total = p->size() / 4;
  const std::size_t wanted = std::min(max_usable_ranges, (cells_total + step - 1) / step);
  if (wanted * step > cells_total) {
    fdt.fail(fdt.path(node), fmt::format("linux,usable-memory-range is {} bytes: the kernel would read "
                                         "past its end", p->size()));
  }
  auto ranges = pairs(*p, cells);
  ranges.resize(wanted);
  return ranges;
}

// early_init_dt_check_for_elfcorehdr (fdt.c:941), same byte/cell mix-up.
std::optional<Extent> elfcorehdr(const Fdt& fdt, int node, const Cells& cells) {
  auto p = fdt.prop(node, "linux,elfcorehdr");
  if (!p || p->size() < static_cast<std::size_t>(cells.addr + cells.size)) return std::nullopt;
  if (p->size() < cells.pair_bytes()) {
    fdt.fail(fdt.path(node), fmt::format("linux,elfcorehdr is {} bytes: the kernel would read past its end",
                                         p->size()));
  }
  return pairs(*p, cells).front();
}

std::string bootargs(const Fdt& fdt, int node) {
  auto p = fdt.prop(node, "bootargs");
  if (!p || p->empty()) return {};
  // strscpy(cmdline, p, min(l, COMMAND_LINE_SIZE))
  std::string_view s(reinterpret_cast<const char*>(p->data()), std::min(p->size(), command_line_size) - 1);
  return std::string(s.substr(0, s.find('\0')));
}

// __reserved_mem_check_root (fdt.c:548): same cells as the root, and ranges.
bool reserved_memory_supported(const Fdt& fdt, int node, const Cells& cells) {
  auto size = fdt.u32(node, "#size-cells");
  auto addr = fdt.u32(node, "#address-cells");
  return size && *size == static_cast<std::uint32_t>(cells.size) && addr &&
         *addr == static_cast<std::uint32_t>(cells.addr) && fdt.has(node, "ranges");
}

Layout read_layout(const Fdt& fdt, const DtbOptions& options, Phys page_size) {
  Layout l;
  l.cells = root_cells(fdt);
  std::string cmdline;
  if (auto c = chosen(fdt)) {
    l.elfcorehdr = elfcorehdr(fdt, *c, l.cells);
    cmdline = bootargs(fdt, *c);
    l.usable = usable_ranges(fdt, *c, l.cells);
  }
  l.params = early_params(cmdline, page_size);
  if (options.mem_limit) l.params.mem = *options.mem_limit & ~(page_size - 1);
  l.memory = memory_entries(fdt, l.cells);

  const int count = fdt_num_mem_rsv(fdt.raw());
  if (count < 0) fdt.fail("memory reservation block", fdt_strerror(count));
  for (int n = 0; n < count; ++n) {
    Extent e;
    if (int err = fdt_get_mem_rsv(fdt.raw(), n, &e.base, &e.size); err != 0) {
      fdt.fail(fmt::format("/memreserve/ entry {}", n), fdt_strerror(err));
    }
    l.memreserve.push_back(e);
  }

  auto rm = fdt.node("/reserved-memory");
  if (!rm || !reserved_memory_supported(fdt, *rm, l.cells)) return l;
  l.reserved_memory = true;
  for (int child : fdt.subnodes(*rm)) {
    if (!fdt.available(child)) continue;
    ReservedChild r;
    r.node = child;
    r.path = fdt.path(child);
    r.nomap = fdt.has(child, "no-map");
    r.has_size = fdt.has(child, "size");
    if (auto reg = fdt.prop(child, "reg")) {
      r.has_reg = true;
      r.bad_reg = !reg->empty() && reg->size() % l.cells.pair_bytes() != 0;
      if (!r.bad_reg) r.reg = pairs(*reg, l.cells);
    }
    l.reserved.push_back(std::move(r));
  }
  return l;
}

// ---- where the bootloader put things -------------------------------------------------

// early_init_dt_add_memory_arch (fdt.c:1218) with arm64's MIN_MEMBLOCK_ADDR 0
// and MAX_MEMBLOCK_ADDR U64_MAX (asm/memory.h:209): page-trim, or ignore. The
// u64 arithmetic is the kernel's, wrap-arounds included, so the clamps never fire.
std::optional<Extent> page_trimmed(Phys base, Phys size, Phys page) {
  constexpr Phys min_addr = 0;
  constexpr Phys max_addr = ~Phys{0};
  const Phys offset = base & (page - 1);
  if (size < page - offset) return std::nullopt;
  if (offset != 0) {
    size -= page - offset;
    base = align_up(base, page);
  }
  size &= ~(page - 1);
  if (base > max_addr) return std::nullopt;
  if (base + size - 1 > max_addr) size = max_addr - base + 1;
  if (base + size < min_addr) return std::nullopt;
  if (base < min_addr) {
    size -= min_addr - base;
    base = min_addr;
  }
  return Extent{base, size};
}

// RAM a bootloader may load into, in address order, merged.
std::vector<Extent> loadable_ram(const Layout& l, Phys page) {
  const Phys top = Phys{1} << pa_bits;
  std::vector<Extent> ram;
  for (const MemoryEntry& m : l.memory) {
    auto e = page_trimmed(m.base, m.size, page);
    if (!e || e->base >= top) continue;
    Phys end = std::min(e->end(), top);
    if (l.usable && !l.usable->empty() && (*l.usable)[0].size != 0) {
      const Extent cap = (*l.usable)[0];
      e->base = std::max(e->base, cap.base);
      end = std::min(end, cap.end());
    }
    if (e->base < end) ram.push_back({e->base, end - e->base});
  }
  std::sort(ram.begin(), ram.end(), [](const Extent& a, const Extent& b) { return a.base < b.base; });
  std::vector<Extent> merged;
  for (const Extent& e : ram) {
    if (!merged.empty() && e.base <= merged.back().end()) {
      merged.back().size = std::max(merged.back().end(), e.end()) - merged.back().base;
    } else {
      merged.push_back(e);
    }
  }
  return merged;
}

std::vector<Extent> taken_ranges(const Layout& l) {
  std::vector<Extent> taken = l.memreserve;
  for (const ReservedChild& r : l.reserved) taken.insert(taken.end(), r.reg.begin(), r.reg.end());
  if (l.elfcorehdr) taken.push_back(*l.elfcorehdr);
  return taken;
}

const Extent* first_overlap(const std::vector<Extent>& taken, const Extent& e) {
  auto it = std::find_if(taken.begin(), taken.end(), [&](const Extent& t) { return t.overlaps(e); });
  return it == taken.end() ? nullptr : &*it;
}

// The lowest `align`-aligned place for `size` bytes inside one RAM range, clear of `taken`.
std::optional<Phys> lowest_fit(const std::vector<Extent>& ram, const std::vector<Extent>& taken, Phys size,
                               Phys align) {
  for (const Extent& r : ram) {
    Phys at = align_up(r.base, align);
    while (at >= r.base && at <= r.end() && size <= r.end() - at) {
      const Extent* hit = first_overlap(taken, {at, size});
      if (hit == nullptr) return at;
      if (hit->end() > r.end()) break;
      at = align_up(hit->end(), align);
    }
  }
  return std::nullopt;
}

// The highest `align`-aligned place in the lowest RAM range that has one, clear of `taken`.
std::optional<Phys> highest_fit(const std::vector<Extent>& ram, const std::vector<Extent>& taken, Phys size,
                                Phys align) {
  for (const Extent& r : ram) {
    if (r.size < size) continue;
    Phys at = align_down(r.end() - size, align);
    while (at >= r.base) {
      const Extent* hit = first_overlap(taken, {at, size});
      if (hit == nullptr) return at;
      if (hit->base < r.base + size) break;
      at = align_down(hit->base - size, align);
    }
  }
  return std::nullopt;
}

struct Placement {
  Phys kernel = 0;
  Phys fdt = 0;
};

Placement place(const Fdt& fdt, const Layout& l, const DtbOptions& o, Phys page) {
  if (o.kernel_size <= stext_offset || o.kernel_size > linear_region_size) {
    fdt.fail("options", fmt::format("kernel_size {} is not between _stext's offset {} and the linear map",
                                    hex(o.kernel_size), hex(stext_offset)));
  }
  const auto ram = loadable_ram(l, page);
  auto taken = taken_ranges(l);
  if (o.fdt_base) taken.push_back({*o.fdt_base, fdt.totalsize()});
  Placement p;
  if (o.kernel_base) {
    p.kernel = *o.kernel_base;
  } else if (auto at = lowest_fit(ram, taken, o.kernel_size, kernel_align)) {
    p.kernel = *at;
  } else if (!ram.empty()) {
    p.kernel = align_up(ram.front().base, kernel_align);  // RAM too small or full: overlap it
  } else {
    fdt.fail("/", "no memory node describes RAM (every reg size is 0); give kernel_base and fdt_base");
  }
  if (p.kernel > ~Phys{0} - o.kernel_size) {
    fdt.fail("options", fmt::format("the kernel image at {} wraps around", hex(p.kernel)));
  }
  if (o.fdt_base) {
    p.fdt = *o.fdt_base;
  } else {
    taken.push_back({p.kernel, o.kernel_size});
    p.fdt = highest_fit(ram, taken, fdt.totalsize(), page).value_or(align_up(p.kernel + o.kernel_size, page));
  }
  if (p.fdt == 0 || p.fdt % fdt_align != 0) {
    fdt.fail("options", fmt::format("fdt_base {} must be nonzero and {}-byte aligned (fixmap_remap_fdt)",
                                    hex(p.fdt), fdt_align));
  }
  return p;
}

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
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BootError(path.string(), "", "cannot open the file");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw BootError(path.string(), "", "cannot read the file");
  return dtb_boot(bytes, path.string(), options, build, run);
}

}  // namespace mbfuzz::boot
