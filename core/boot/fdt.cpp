#include "core/boot/fdt.hpp"

#include <libfdt.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
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
  if (int e = fdt_check_full(raw(), blob.size()); e != 0) fail("structure block", fdt_strerror(e));
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
