#include "oracle/report.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/render.hpp"
#include "core/trace.hpp"

namespace mbfuzz::oracle {
namespace {

constexpr std::size_t picture_width = 64;
constexpr std::size_t cell_width = 44;

std::string cell(const std::vector<Region>& regions, std::size_t i) {
  if (i >= regions.size()) return "";
  const Region& r = regions[i];
  return fmt::format("[{:#x}, {:#x}) {} {}", r.base, r.end(), render_flags(r.flags), r.nid);
}

void side_by_side(std::string& out, std::string_view name, const RegionArray& expected,
                  const RegionArray& actual) {
  out += fmt::format("  {:<{}} | actual\n", fmt::format("{} expected", name), cell_width + 6);
  out += fmt::format("  {:<{}} | cnt {} max {} total {:#x}\n",
                     fmt::format("cnt {} max {} total {:#x}", expected.cnt, expected.max, expected.total_size),
                     cell_width + 6, actual.cnt, actual.max, actual.total_size);
  const std::size_t rows = std::max(expected.regions.size(), actual.regions.size());
  for (std::size_t i = 0; i < rows; ++i) {
    std::string e = cell(expected.regions, i), a = cell(actual.regions, i);
    out += fmt::format("{} [{:3}] {:<{}} | {}\n", e == a ? ' ' : '*', i, e, cell_width, a);
  }
}

// Where the states differ, or else where the op acted.
std::pair<Phys, Phys> focus(const Divergence& d) {
  Phys lo = ~Phys{0}, hi = 0;
  auto take = [&](Phys base, Phys end) {
    lo = std::min(lo, base);
    hi = std::max(hi, end);
  };
  for (auto [e, a] : {std::pair{&d.expected_state.memory, &d.actual_state.memory},
                      std::pair{&d.expected_state.reserved, &d.actual_state.reserved}}) {
    for (const Region& r : e->regions)
      if (r.size && std::find(a->regions.begin(), a->regions.end(), r) == a->regions.end()) take(r.base, r.end());
    for (const Region& r : a->regions)
      if (r.size && std::find(e->regions.begin(), e->regions.end(), r) == e->regions.end()) take(r.base, r.end());
  }
  for (const Outcome* o : {&d.expected_outcome, &d.actual_outcome}) {
    if (const auto* a = std::get_if<Address>(&o->value); a && a->value) take(a->value, a->value + 1);
    if (const auto* a = std::get_if<Allocation>(&o->value); a && a->kind == Allocation::Kind::memory)
      take(a->addr, a->addr + 1);
  }
  if (lo >= hi)
    for (const Region& r : d.before.memory.regions)
      if (r.size) take(r.base, r.end());
  if (lo >= hi) return {0, 0};
  const Phys margin = (hi - lo) / 4;
  return {lo > margin ? lo - margin : 0, hi + std::min(margin, ~Phys{0} - hi)};
}

char state_at(const Snapshot& s, Phys addr) {
  auto in = [addr](const RegionArray& a) -> const Region* {
    for (const Region& r : a.regions)
      if (r.size && r.base <= addr && addr < r.end()) return &r;
    return nullptr;
  };
  const Region* memory = in(s.memory);
  const bool reserved = in(s.reserved) != nullptr;
  if (memory && (memory->flags & Flags::nomap)) return 'n';
  if (memory) return reserved ? '#' : '=';
  return reserved ? 'r' : '.';
}

// bootmem's nodes, expected above actual, node by node.
std::string render_bootmem_states(const Divergence::BootmemStates& s) {
  auto node_lines = [](const BootmemSnapshot& snapshot, std::size_t i) -> std::string {
    if (i >= snapshot.nodes.size()) return "(no node)";
    const BootmemNode& n = snapshot.nodes[i];
    std::string text = fmt::format("node {} [{:#x}, {:#x}) map {:#x} hint_idx {:#x} last_end_off {:#x}{}\n      reserved pfns:",
                                   n.nid, n.min_pfn, n.low_pfn, n.map_pfn, n.hint_idx, n.last_end_off,
                                   n.has_map ? "" : " (handed over)");
    for (auto [start, end] : n.reserved) text += fmt::format(" [{:#x}, {:#x})", start, end);
    return text;
  };
  std::string out;
  const std::size_t count = std::max(s.expected.nodes.size(), s.actual.nodes.size());
  for (std::size_t i = 0; i < count; ++i) {
    std::string e = node_lines(s.expected, i), a = node_lines(s.actual, i);
    out += fmt::format("{} expected {}\n{} actual   {}\n", e == a ? ' ' : '*', e, e == a ? ' ' : '*', a);
  }
  return out.empty() ? "  no bootmem nodes\n" : out;
}

}  // namespace

std::string render_picture(const Snapshot& expected, const Snapshot& actual, Phys lo, Phys hi) {
  if (lo >= hi) return "";
  const Phys step = std::max<Phys>(1, (hi - lo) / picture_width);
  std::string e, a;
  for (std::size_t i = 0; i < picture_width; ++i) {
    const Phys addr = lo + i * step;
    if (addr >= hi) break;
    e += state_at(expected, addr);
    a += state_at(actual, addr);
  }
  return fmt::format("  {:#x} .. {:#x}, {:#x} bytes per column\n  expected |{}|\n  actual   |{}|\n"
                     "  = free memory  # reserved memory  r reserved, no memory  n NOMAP  . nothing\n",
                     lo, hi, step, e, a);
}

std::string render_divergence(const Divergence& d) {
  std::string out = fmt::format("divergence at op {}: {}\n  signature: {}\n  check:     {}\n",
                                d.op_index, format_op(d.op), d.signature(), d.check);
  if (!d.expected.empty()) out += fmt::format("  expected:  {}\n", d.expected);
  out += fmt::format("  actual:    {}\n", d.actual);
  if (d.check != "outcome")
    out += fmt::format("  outcome:   {} (as expected)\n", render_outcome(d.actual_outcome));
  if (d.memblock_call)
    out += fmt::format("  memblock answered it (as nobootmem did) with: {}\n", format_op(*d.memblock_call));
  if (d.bootmem) return out + '\n' + render_bootmem_states(*d.bootmem);
  out += '\n';
  side_by_side(out, "memory", d.expected_state.memory, d.actual_state.memory);
  out += '\n';
  side_by_side(out, "reserved", d.expected_state.reserved, d.actual_state.reserved);
  auto [lo, hi] = focus(d);
  if (lo < hi) out += '\n' + render_picture(d.expected_state, d.actual_state, lo, hi);
  return out;
}

std::string render_signature_line(std::string_view variant, const Divergence& d) {
  return fmt::format("mbfuzz-signature: {} {}\n", variant, d.signature());
}

std::string render_finding(std::string_view variant, std::span<const Op> ops, const Divergence& d) {
  std::string out = fmt::format("mbfuzz: on {}: {}\n# the trace, up to the diverging op\n", variant,
                                render_divergence(d));
  out += format_trace(ops.first(std::min(ops.size(), d.op_index + 1)));
  out += '\n' + render_signature_line(variant, d);
  return out;
}

}  // namespace mbfuzz::oracle
