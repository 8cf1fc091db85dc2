#include "core/render.hpp"

#include <fmt/format.h>

#include <cerrno>

namespace mbfuzz {
namespace {

std::string hex(std::uint64_t v) { return fmt::format("{:#x}", v); }

std::string errno_name(int value) {
  switch (-value) {
    case 0: return "0";
    case ENOMEM: return "-ENOMEM";
    case EINVAL: return "-EINVAL";
    case EBUSY: return "-EBUSY";
    default: return fmt::format("{}", value);
  }
}

struct ValueText {
  std::string operator()(const NoValue&) const { return "done"; }
  std::string operator()(const Errno& e) const { return errno_name(e.value); }
  std::string operator()(const Truth& t) const { return t.value ? "true" : "false"; }
  std::string operator()(const Address& a) const { return hex(a.value); }
  std::string operator()(const Allocation& a) const {
    switch (a.kind) {
      case Allocation::Kind::null: return "NULL";
      case Allocation::Kind::slab: return "slab object (kmalloc)";
      case Allocation::Kind::memory: break;
    }
    std::string text = hex(a.addr);
    if (a.zeroed) text += *a.zeroed ? " zeroed" : " NOT ZEROED";
    return text;
  }
  std::string operator()(const PfnNid& p) const {
    if (p.nid == -1) return "not found (-1)";
    return fmt::format("nid {} pfns [{:#x}, {:#x})", p.nid, p.start_pfn, p.end_pfn);
  }
  std::string operator()(const Ranges& r) const {
    if (r.ranges.empty()) return "no ranges";
    std::string text;
    for (const Range& range : r.ranges)
      text += fmt::format("{}[{:#x}, {:#x}) nid {}", text.empty() ? "" : " ", range.start,
                          range.end, range.nid);
    return text;
  }
  std::string operator()(const BuddyRelease& b) const {
    std::string text = fmt::format("{} block{} totalram +{}", b.blocks.size(),
                                   b.blocks.size() == 1 ? "" : "s", b.totalram_pages);
    for (const PageBlock& block : b.blocks)
      text += fmt::format(" pfn {:#x} order {}", block.pfn, block.order);
    return text;
  }
};

std::string_view event_kind(KernelEvent::Kind kind) {
  switch (kind) {
    case KernelEvent::Kind::warn: return "WARN";
    case KernelEvent::Kind::bug: return "BUG";
    case KernelEvent::Kind::limit: return "SIMULATION LIMIT";
  }
  return "?";
}

void render_array(std::string& out, std::string_view name, const RegionArray& array) {
  out += fmt::format(" {}: cnt {} max {} total_size {:#x}{}\n", name, array.cnt, array.max,
                     array.total_size, array.in_static_array ? "" : " (array reallocated)");
  for (std::size_t i = 0; i < array.regions.size(); ++i) {
    const Region& r = array.regions[i];
    out += fmt::format("  [{:3}] [{:#018x}, {:#018x}) size {:#x} flags {} nid {}\n", i, r.base,
                       r.base + r.size, r.size, render_flags(r.flags), r.nid);
  }
}

}  // namespace

std::string render_flags(std::uint32_t flags) {
  if (flags == 0) return "NONE";
  std::string text;
  const std::pair<std::uint32_t, std::string_view> names[] = {
      {Flags::hotplug, "HOTPLUG"}, {Flags::mirror, "MIRROR"}, {Flags::nomap, "NOMAP"},
      {Flags::driver_managed, "DRIVER_MANAGED"}};
  for (auto [bit, name] : names)
    if (flags & bit) {
      text += text.empty() ? "" : "|";
      text += name;
      flags &= ~bit;
    }
  if (flags) text += fmt::format("{}{:#x}", text.empty() ? "" : "|", flags);
  return text;
}

std::string render_outcome(const Outcome& outcome) {
  std::string text;
  switch (outcome.status) {
    case Outcome::Status::completed: text = "=> " + std::visit(ValueText{}, outcome.value); break;
    case Outcome::Status::aborted: text = "=> aborted"; break;
    case Outcome::Status::refused: text = "=> refused: memblock was discarded"; break;
  }
  for (const KernelEvent& e : outcome.events)
    text += fmt::format("\n   {} at {}:{}: {}", event_kind(e.kind), e.file, e.line, e.text);
  return text;
}

std::string render_snapshot(const Snapshot& s) {
  std::string out = fmt::format(
      "memblock: bottom_up {} current_limit {:#x} can_resize {} has_some_mirror {}{}\n",
      s.bottom_up, s.current_limit, s.can_resize, s.has_some_mirror,
      s.discarded ? " DISCARDED" : "");
  render_array(out, "memory", s.memory);
  render_array(out, "reserved", s.reserved);
  return out;
}

std::vector<std::string> render_memblock_dump(const Snapshot& snapshot, const Build& build) {
  const int digits = build.phys_bits / 4;
  const Phys mask = build.phys_addr_max();
  auto pa = [&](Phys value) { return fmt::format("0x{:0{}x}", value & mask, digits); };
  // The kernel's %#x prints zero as 0x0, where C's prints 0.
  auto hash_x = [](std::uint64_t value) { return fmt::format("{:#x}", value); };
  std::vector<std::string> lines{
      "MEMBLOCK configuration:",
      fmt::format(" memory size = {} reserved size = {}", pa(snapshot.memory.total_size),
                  pa(snapshot.reserved.total_size))};
  for (auto [name, array] : {std::pair{"memory", &snapshot.memory}, std::pair{"reserved", &snapshot.reserved}}) {
    lines.push_back(fmt::format(" {}.cnt  = {:#x}", name, array->cnt));
    for (std::size_t i = 0; i < array->regions.size(); ++i) {
      const Region& r = array->regions[i];
      std::string node = build.numa && r.nid != build.max_numnodes ? fmt::format(" on node {}", r.nid) : "";
      lines.push_back(fmt::format(" {}[{}]\t[{}-{}], {} bytes{} flags: {}", name, hash_x(i), pa(r.base),
                                  pa(r.base + r.size - 1), pa(r.size), node, hash_x(r.flags)));
    }
  }
  return lines;
}

std::string render_bootmem(const BootmemSnapshot& snapshot) {
  std::string out = fmt::format("bootmem: {} node(s)\n", snapshot.nodes.size());
  for (const BootmemNode& n : snapshot.nodes) {
    out += fmt::format("  node {}: pfns [{:#x}, {:#x}), bitmap at pfn {:#x}, hint_idx {:#x}, last_end_off {:#x}{}\n",
                       n.nid, n.min_pfn, n.low_pfn, n.map_pfn, n.hint_idx, n.last_end_off,
                       n.has_map ? "" : ", handed over to the buddy allocator");
    for (auto [start, end] : n.reserved) out += fmt::format("    reserved [{:#x}, {:#x})\n", start, end);
  }
  return out;
}

}  // namespace mbfuzz
