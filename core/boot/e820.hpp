// x86 boot from an e820 map: the memblock calls Linux 6.1 makes from
// early_reserve_memory() to the end of e820__memblock_setup(), for the map a
// dmesg prints under "BIOS-provided physical RAM map:".
//
// Both printed formats are read: `BIOS-e820: [mem 0xA-0xB] usable` (ends
// inclusive, since 3.x) and `BIOS-e820: A - B (usable)` (ends exclusive,
// 2.6). The printed table is already sanitized (sorted, no overlaps); an
// unsorted or overlapping one is malformed input.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/boot/boot.hpp"
#include "core/variant.hpp"

namespace mbfuzz::boot {

struct E820Entry {
  Phys addr = 0;
  Phys size = 0;  // the end may overflow 64 bits: e820__memblock_setup skips such entries
  std::uint32_t type = 0;
  int line = 0;
  // enum e820_type (arch/x86/include/asm/e820/types.h)
  static constexpr std::uint32_t ram = 1, reserved = 2, acpi = 3, nvs = 4, unusable = 5, pmem = 7,
                                 pram = 12, soft_reserved = 0xefffffff, reserved_kern = 128;
};

struct E820Options {
  std::optional<Phys> mem_limit;  // mem=: RAM above it leaves the table (parse_memopt)
  // __pa_symbol(_text) and __end_of_kernel_reserve - _text, brk included:
  // CONFIG_PHYSICAL_START without KASLR, and the size Debian's
  // 6.1.0-56-amd64 image reserves under QEMU (its first MEMBLOCK dump).
  Phys kernel_base = 0x1000000;
  Phys kernel_size = 0x3411000;
};

// The map's entries, in order. Throws BootError (file: line:col: message).
std::vector<E820Entry> read_e820(std::string_view text, const std::string& source);

std::vector<Step> e820_boot(const std::vector<E820Entry>& map, const E820Options& options, const Build& build);

// read_e820 of a file; BootError naming the path when it cannot be read.
std::vector<E820Entry> read_e820_file(const std::filesystem::path& path);

// How to boot a real kernel under QEMU (pc machine, SeaBIOS) on this map:
// the kernel's memmap=exactmap arguments for it, and enough guest RAM at the
// right places to back every usable range (QEMU puts up to 3 GiB below 4 GiB
// when the guest has more than that, the rest from 4 GiB up).
struct QemuLayout {
  std::string memory;   // -m
  std::string machine;  // -machine
  std::string memmap;   // kernel command-line arguments
};

// Throws BootError when QEMU cannot back the map's usable ranges.
QemuLayout qemu_layout(const std::vector<E820Entry>& map, const std::string& source);

std::vector<Step> e820_boot_file(const std::filesystem::path& path, const E820Options& options,
                                 const Build& build);

}  // namespace mbfuzz::boot
