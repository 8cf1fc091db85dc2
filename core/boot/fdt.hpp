// Internal to the device-tree boot (core/boot/dtb*.cpp): reading a flattened
// device tree with libfdt, the way drivers/of/fdt.c reads it. Every read is
// checked, and a malformed blob is a BootError naming the node path or the
// byte offset. libfdt itself stays behind fdt.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/boot/boot.hpp"
#include "core/op.hpp"

namespace mbfuzz::boot::dtb {

// [base, base + size), with an end that saturates instead of wrapping.
struct Extent {
  Phys base = 0;
  Phys size = 0;
  Phys end() const { return size > ~Phys{0} - base ? ~Phys{0} : base + size; }
  bool overlaps(const Extent& o) const {
    return size != 0 && o.size != 0 && base < o.end() && o.base < end();
  }
};

class Fdt {
 public:
  Fdt(std::span<const std::uint8_t> blob, std::string source);

  const void* raw() const { return storage_.data(); }
  const std::string& source() const { return source_; }
  Phys totalsize() const;

  [[noreturn]] void fail(const std::string& place, const std::string& message) const {
    throw BootError(source_, place, message);
  }

  std::string path(int node) const;

  // A node by path; nullopt when there is none.
  std::optional<int> node(const char* path_name) const;

  std::optional<std::span<const std::uint8_t>> prop(int node, const char* name) const;

  bool has(int node, const char* name) const { return prop(node, name).has_value(); }

  // A string property up to its first NUL (strcmp's view of it).
  std::optional<std::string_view> string(int node, const char* name) const;

  // A one-cell property read as be32_to_cpup does.
  std::optional<std::uint32_t> u32(int node, const char* name) const;

  std::vector<int> subnodes(int parent) const;

  // of_fdt_device_is_available(): no status, "okay" or "ok".
  bool available(int node) const;

  // of_fdt_is_compatible(): any entry of the list, compared with strcasecmp.
  bool compatible(int node, std::string_view compat) const;

  static std::uint32_t cell(std::span<const std::uint8_t> p, std::size_t i);

  // of_read_number(): n cells, big-endian, the low 64 bits kept.
  static Phys number(std::span<const std::uint8_t> p, std::size_t first, int n);

 private:
  void check_names() const;

  std::vector<std::uint64_t> storage_;
  std::string source_;
};

struct Cells {
  int addr = 1;  // OF_ROOT_NODE_ADDR_CELLS_DEFAULT (drivers/of/of_private.h:35)
  int size = 1;  // OF_ROOT_NODE_SIZE_CELLS_DEFAULT (drivers/of/of_private.h:38)
  std::size_t pair_bytes() const { return static_cast<std::size_t>(addr + size) * 4; }
};

// (address, size) pairs of a property whose length is a whole number of pairs.
std::vector<Extent> pairs(std::span<const std::uint8_t> p, const Cells& c);

}  // namespace mbfuzz::boot::dtb
