#include "core/boot/fdt.hpp"

#include <libfdt.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstring>
#include <utility>

namespace mbfuzz::boot::dtb {

Fdt::Fdt(std::span<const std::uint8_t> blob, std::string source) : source_(std::move(source)) {
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
  // Versions before 16 name nodes by full path; libfdt 1.6.1 mishandles them
  // (fdt_check_full() crashed on one, found by dtb_boot_fuzzer), and dtc has
  // written version 17 since 2007.
  if (fdt_version(raw()) < 16)
    fail("offset 20", fmt::format("device tree version {} is older than 16, which this reader needs",
                                  fdt_version(raw())));
  check_names();
  if (int e = fdt_check_full(raw(), blob.size()); e != 0) fail("structure block", fdt_strerror(e));
}

// libfdt 1.6.1's fdt_check_full() dereferences what fdt_get_name() returns
// for the root node without checking it (two blobs of old versions crashed
// it, found by dtb_boot_fuzzer; versions before 16 are refused above). So
// every node's and property's name is looked up here first, and
// fdt_check_full() only sees names that resolve; other structural errors are
// left to it.
void Fdt::check_names() const {
  int offset = 0;
  for (std::size_t steps = 0; steps <= fdt_totalsize(raw()) / 4; ++steps) {
    int next = 0;
    std::uint32_t tag = fdt_next_tag(raw(), offset, &next);
    if (tag == FDT_END || next < 0) return;
    if (tag == FDT_BEGIN_NODE) {
      int length = 0;
      if (fdt_get_name(raw(), offset, &length) == nullptr)
        fail(fmt::format("offset {}", fdt_off_dt_struct(raw()) + static_cast<std::uint32_t>(offset)),
             fmt::format("a node whose name cannot be read ({})", fdt_strerror(length)));
    }
    if (tag == FDT_PROP) {
      // (struct: a function of the same name hides the type)
      const struct fdt_property* property = fdt_get_property_by_offset(raw(), offset, nullptr);
      if (property == nullptr) return;
      int length = 0;
      // The structure block need not be 4-byte aligned: read the field bytewise.
      fdt32_t stored{};
      std::memcpy(&stored, reinterpret_cast<const char*>(property) + offsetof(struct fdt_property, nameoff),
                  sizeof stored);
      const std::uint32_t name = fdt32_to_cpu(stored);
      if (fdt_get_string(raw(), static_cast<int>(name), &length) == nullptr)
        fail(fmt::format("offset {}", fdt_off_dt_struct(raw()) + static_cast<std::uint32_t>(offset)),
             fmt::format("a property whose name offset {:#x} lies outside the strings block ({})", name,
                         fdt_strerror(length)));
    }
    offset = next;
  }
}

Phys Fdt::totalsize() const { return fdt_totalsize(raw()); }

std::string Fdt::path(int node) const {
  std::array<char, 1024> buf{};
  if (int e = fdt_get_path(raw(), node, buf.data(), static_cast<int>(buf.size())); e != 0) {
    return fmt::format("node at offset {}", node);
  }
  return buf.data();
}

std::optional<int> Fdt::node(const char* path_name) const {
  int off = fdt_path_offset(raw(), path_name);
  if (off == -FDT_ERR_NOTFOUND) return std::nullopt;
  if (off < 0) fail(path_name, fdt_strerror(off));
  return off;
}

std::optional<std::span<const std::uint8_t>> Fdt::prop(int node, const char* name) const {
  int len = 0;
  const void* p = fdt_getprop(raw(), node, name, &len);
  if (p == nullptr) {
    if (len == -FDT_ERR_NOTFOUND) return std::nullopt;
    fail(path(node), fmt::format("property {}: {}", name, fdt_strerror(len)));
  }
  return std::span(static_cast<const std::uint8_t*>(p), static_cast<std::size_t>(len));
}

std::optional<std::string_view> Fdt::string(int node, const char* name) const {
  auto p = prop(node, name);
  if (!p) return std::nullopt;
  std::string_view s(reinterpret_cast<const char*>(p->data()), p->size());
  return s.substr(0, s.find('\0'));
}

std::optional<std::uint32_t> Fdt::u32(int node, const char* name) const {
  auto p = prop(node, name);
  if (!p) return std::nullopt;
  if (p->size() < 4) fail(path(node), fmt::format("{} is {} bytes, shorter than a cell", name, p->size()));
  return cell(*p, 0);
}

std::vector<int> Fdt::subnodes(int parent) const {
  std::vector<int> nodes;
  int child = fdt_first_subnode(raw(), parent);
  for (; child >= 0; child = fdt_next_subnode(raw(), child)) nodes.push_back(child);
  if (child != -FDT_ERR_NOTFOUND) fail(path(parent), fdt_strerror(child));
  return nodes;
}

bool Fdt::available(int node) const {
  auto status = string(node, "status");
  return !status || *status == "okay" || *status == "ok";
}

bool Fdt::compatible(int node, std::string_view compat) const {
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

std::uint32_t Fdt::cell(std::span<const std::uint8_t> p, std::size_t i) {
  return std::uint32_t{p[4 * i]} << 24 | std::uint32_t{p[4 * i + 1]} << 16 |
         std::uint32_t{p[4 * i + 2]} << 8 | std::uint32_t{p[4 * i + 3]};
}

Phys Fdt::number(std::span<const std::uint8_t> p, std::size_t first, int n) {
  Phys v = 0;
  for (int k = 0; k < n; ++k) v = v << 32 | cell(p, first + static_cast<std::size_t>(k));
  return v;
}

std::vector<Extent> pairs(std::span<const std::uint8_t> p, const Cells& c) {
  std::vector<Extent> out;
  const std::size_t step = static_cast<std::size_t>(c.addr + c.size);
  for (std::size_t i = 0; (i + 1) * c.pair_bytes() <= p.size(); ++i) {
    out.push_back({Fdt::number(p, i * step, c.addr),
                   Fdt::number(p, i * step + static_cast<std::size_t>(c.addr), c.size)});
  }
  return out;
}

}  // namespace mbfuzz::boot::dtb
