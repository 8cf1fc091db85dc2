#include "core/boot/e820.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <regex>

namespace mbfuzz::boot {
namespace {

constexpr Phys KiB = 1024;
constexpr Phys bios_begin = 0xa0000, bios_end = 0x100000;  // the PC BIOS area, 640K to 1M
// arch/x86/kernel/ebda.c: the start of the BIOS regions, from the BIOS data
// area's base memory size, is taken as 0x9f000 when outside [128K, 0x9f000].
constexpr Phys bios_start_min = 0x20000, bios_start_max = 0x9f000;

// The names e820_print_type() prints, and the old format's; 7.0 prints
// "System RAM" and "device reserved".
std::optional<std::uint32_t> type_of(std::string_view name) {
  static const std::pair<std::string_view, std::uint32_t> names[] = {
      {"usable", E820Entry::ram},           {"System RAM", E820Entry::ram},
      {"reserved", E820Entry::reserved},    {"device reserved", E820Entry::reserved},
      {"soft reserved", E820Entry::soft_reserved}, {"ACPI data", E820Entry::acpi},
      {"ACPI NVS", E820Entry::nvs},         {"unusable", E820Entry::unusable}};
  for (auto [text, type] : names)
    if (name == text) return type;
  std::uint32_t type = 0;
  for (std::string_view prefix : {"persistent (type ", "type "})
    if (name.starts_with(prefix)) {
      std::string_view digits = name.substr(prefix.size());
      if (digits.ends_with(')')) digits.remove_suffix(1);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), type);
      if (ec == std::errc{} && end == digits.data() + digits.size()) return type;
    }
  return std::nullopt;
}

Phys hex(const std::string& text) {
  std::string_view digits = text;
  if (digits.starts_with("0x")) digits.remove_prefix(2);
  Phys value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
  if (ec != std::errc{} || end != digits.data() + digits.size()) throw std::out_of_range(text);
  return value;
}

}  // namespace

std::vector<E820Entry> read_e820(std::string_view text, const std::string& source) {
  static const std::regex inclusive(R"(BIOS-e820: \[mem (0x[0-9a-fA-F]+)-(0x[0-9a-fA-F]+)\] (.+)$)");
  static const std::regex exclusive(R"(BIOS-e820: ([0-9a-fA-F]+) - ([0-9a-fA-F]+) \((.+)\)$)");
  std::vector<E820Entry> map;
  int line_number = 0;
  while (!text.empty()) {
    ++line_number;
    auto newline = text.find('\n');
    std::string line(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    auto at = line.find("BIOS-e820:");
    if (at == std::string::npos || line.find("BIOS-e820: [gap", at) == at) continue;
    auto fail = [&](std::size_t column, const std::string& message) {
      throw BootError(source, fmt::format("{}:{}", line_number, column + 1), message);
    };
    std::smatch m;
    bool is_inclusive = std::regex_search(line, m, inclusive);
    if (!is_inclusive && !std::regex_search(line, m, exclusive))
      fail(at, "expected 'BIOS-e820: [mem 0xSTART-0xEND] TYPE' or 'BIOS-e820: START - END (TYPE)'");
    E820Entry entry;
    entry.line = line_number;
    Phys last = 0;
    try {
      entry.addr = hex(m.str(1));
      last = hex(m.str(2));
    } catch (const std::out_of_range&) {
      fail(static_cast<std::size_t>(m.position(1)), "an address wider than 64 bits");
    }
    if (!is_inclusive) {
      if (last < entry.addr) fail(static_cast<std::size_t>(m.position(2)), "the end is below the start");
      last -= 1;  // an empty entry wraps and is caught below
    }
    if (last < entry.addr) fail(static_cast<std::size_t>(m.position(2)), "the end is below the start");
    entry.size = last - entry.addr + 1;  // 0 for [0, 2^64): overflows, as the kernel would see it
    auto type = type_of(m.str(3));
    if (!type) fail(static_cast<std::size_t>(m.position(3)), fmt::format("unknown e820 type '{}'", m.str(3)));
    entry.type = *type;
    if (!map.empty() && map.back().addr + map.back().size > entry.addr)
      fail(at, "entries overlap or are out of order: give the table the kernel printed (it is sanitized)");
    map.push_back(entry);
  }
  if (map.empty()) throw BootError(source, "1:1", "no 'BIOS-e820:' lines in this file");
  return map;
}

std::vector<Step> e820_boot(const std::vector<E820Entry>& bios_map, const E820Options& options, const Build& build) {
  std::vector<Step> steps;
  auto step = [&](Op op, std::string why) { steps.push_back({std::move(op), std::move(why)}); };
  std::vector<E820Entry> map = bios_map;

  // early_reserve_memory(), arch/x86/kernel/setup.c, before memblock knows any memory.
  step(Reserve{options.kernel_base, options.kernel_size}, "early_reserve_memory: the kernel image, _text to the brk");
  step(Reserve{0, 64 * KiB}, "early_reserve_memory: the first 64K, which some BIOSes corrupt");
  // reserve_bios_regions(): the BIOS data area says where base memory ends;
  // here, where the map's low RAM ends, as firmware sets it.
  Phys bios_start = bios_start_max;
  for (const E820Entry& e : map)
    if (e.type == E820Entry::ram && e.addr < bios_begin && e.addr + e.size > e.addr)
      bios_start = (std::min(e.addr + e.size, bios_begin) / KiB) * KiB;
  if (bios_start < bios_start_min || bios_start > bios_start_max) bios_start = bios_start_max;
  step(Reserve{bios_start, bios_end - bios_start}, "reserve_bios_regions: from the EBDA to 1M");

  // parse_memopt(): mem= drops RAM above the limit from the table.
  auto cut_ram = [&](Phys from, Phys to) {  // removes RAM in [from, to)
    std::vector<E820Entry> out;
    for (E820Entry e : map) {
      Phys end = e.addr + e.size;
      if (e.type != E820Entry::ram || end <= from || e.addr >= to || end < e.addr) {
        out.push_back(e);
        continue;
      }
      if (e.addr < from) out.push_back({e.addr, from - e.addr, e.type, e.line});
      if (end > to) out.push_back({to, end - to, e.type, e.line});
    }
    map = std::move(out);
  };
  if (options.mem_limit) cut_ram(*options.mem_limit, ~Phys{0});

  // trim_bios_range(): RAM in the first page becomes reserved; RAM between 640K and 1M goes.
  cut_ram(0, build.page_size);
  cut_ram(bios_begin, bios_end);

  // e820__memblock_setup(), arch/x86/kernel/e820.c
  step(SetCurrentLimit{Limit{bios_end}}, "setup_arch: memblock_set_current_limit(ISA_END_ADDRESS)");
  step(AllowResize{}, "e820__memblock_setup: EFI may pass more entries than INIT_MEMBLOCK_REGIONS");
  for (const E820Entry& e : map) {
    if (e.addr + e.size < e.addr || e.size == 0) continue;  // the end overflows: skipped
    if (e.type == E820Entry::soft_reserved)
      step(Reserve{e.addr, e.size}, fmt::format("e820 line {}: soft reserved", e.line));
    if (e.type == E820Entry::ram || e.type == E820Entry::reserved_kern)
      step(Add{e.addr, e.size}, fmt::format("e820 line {}: usable", e.line));
  }
  step(TrimMemory{build.page_size}, "e820__memblock_setup: throw away partial pages");
  return steps;
}

QemuLayout qemu_layout(const std::vector<E820Entry>& map, const std::string& source) {
  constexpr Phys MiB = 1024 * KiB, GiB = 1024 * MiB, four_gib = 4 * GiB;
  constexpr Phys qemu_low_max = 3 * GiB;  // pc machines: gigabyte-aligned low RAM when there is more
  QemuLayout layout;
  layout.memmap = "memmap=exactmap";
  Phys low_end = 0, high_end = 0;
  for (const E820Entry& e : map) {
    Phys end = e.addr + e.size;
    if (end < e.addr || e.size == 0) continue;
    // memmap=: @ usable, # ACPI data, $ reserved; everything else memblock
    // ignores, so reserved stands for it.
    char kind = e.type == E820Entry::ram ? '@' : e.type == E820Entry::acpi ? '#' : '$';
    layout.memmap += fmt::format(" memmap={:#x}{}{:#x}", e.size, kind, e.addr);
    if (e.type != E820Entry::ram) continue;
    if (e.addr < four_gib && end > four_gib)
      throw BootError(source, fmt::format("{}:1", e.line), "a usable range across 4 GiB: QEMU cannot back it");
    (end <= four_gib ? low_end : high_end) = std::max(end <= four_gib ? low_end : high_end, end);
  }
  auto mib = [&](Phys bytes) { return (bytes + MiB - 1) / MiB; };
  if (high_end == 0) {
    layout.memory = fmt::format("{}M", mib(low_end));
    layout.machine = "pc";
    return layout;
  }
  if (low_end > qemu_low_max)
    throw BootError(source, "", fmt::format("usable RAM below 4 GiB ends at {:#x}; QEMU backs at most 3 GiB there "
                                             "when the guest also has RAM above 4 GiB", low_end));
  layout.memory = fmt::format("{}M", mib(qemu_low_max + (high_end - four_gib)));
  layout.machine = fmt::format("pc,max-ram-below-4g={}M", mib(qemu_low_max));
  return layout;
}

std::vector<E820Entry> read_e820_file(const std::filesystem::path& path) {
  return read_e820(read_layout_file(path), path.string());
}

std::vector<Step> e820_boot_file(const std::filesystem::path& path, const E820Options& options, const Build& build) {
  return e820_boot(read_e820_file(path), options, build);
}

}  // namespace mbfuzz::boot
