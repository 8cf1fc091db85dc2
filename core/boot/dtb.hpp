// Device-tree boot: the memblock calls Linux 6.1's arm64 early boot makes
// for a flattened device tree (a .dtb), from setup_machine_fdt() to the end
// of fdt_init_reserved_mem(). The blob is read with libfdt, as the kernel
// reads it; malformed input is a BootError naming the node path and/or the
// byte offset.
//
// What the bootloader decides (where the kernel image and the blob sit, the
// mem= parameter) is given in DtbOptions; the defaults stand for a plain
// bootloader and are documented field by field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/boot/boot.hpp"
#include "core/op.hpp"
#include "core/variant.hpp"

namespace mbfuzz::boot {

struct DtbOptions {
  // The mem= early parameter, as written (the kernel masks it to whole
  // pages). When set it wins over a mem= in /chosen's bootargs, as if it
  // came last on the command line; when empty, bootargs' last mem= counts.
  std::optional<Phys> mem_limit;

  // The kernel image, _text to _end (arm64 Image files are 25-40 MiB).
  Phys kernel_size = Phys{32} << 20;
  // Where _text sits. Default: the lowest 2 MiB-aligned address (booting.rst:
  // "a 2MB aligned base address anywhere in usable system RAM") at which the
  // whole image lies inside one RAM range and clear of /memreserve/, static
  // /reserved-memory and elfcorehdr ranges; RAM here is what the memory
  // nodes add, within the first linux,usable-memory-range when there is one.
  std::optional<Phys> kernel_base;
  // Where the blob sits (arm64 wants it 8-byte aligned). Default: as high
  // as it fits in the lowest RAM range, on a page boundary, clear of the
  // kernel image and of the ranges above (U-Boot's habit); failing that,
  // the first page after the kernel image.
  std::optional<Phys> fdt_base;

  // CONFIG_DMA_RESTRICTED_POOL ("If unsure, say n"): whether
  // "restricted-dma-pool" nodes have an init hook that may reject them.
  bool restricted_dma_pool = false;
};

// Emits the ops Linux 6.1's arm64 early boot performs for this device tree,
// running each on `run` before choosing the next (the kernel branches on
// memblock's answers), and returns them with a one-line reason each. A call
// that does not complete (BUG, simulation limit) ends the boot there.
// Malformed input throws BootError(source, place, message); a build without
// a 64-bit phys_addr_t (arm64 always has one) throws std::invalid_argument.
std::vector<Step> dtb_boot(std::span<const std::uint8_t> blob, const std::string& source,
                           const DtbOptions& options, const Build& build, const Run& run);

// Reads the file first (BootError naming the path when it cannot be read).
std::vector<Step> dtb_boot_file(const std::filesystem::path& path, const DtbOptions& options,
                                const Build& build, const Run& run);

}  // namespace mbfuzz::boot
