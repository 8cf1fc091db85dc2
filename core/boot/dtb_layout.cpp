#include "core/boot/dtb_layout.hpp"

#include <libfdt.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string_view>
#include <utility>

namespace mbfuzz::boot::dtb {
namespace {

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

}  // namespace

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

namespace {

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

}  // namespace

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

}  // namespace mbfuzz::boot::dtb
