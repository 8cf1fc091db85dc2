// The bootmem half of the differential executor: a sequence of bootmem's
// calls on the production bootmem against its model, then, as nobootmem
// answered the same calls, on memblock against memblock's model.
#include <fmt/format.h>

#include <algorithm>

#include "core/nobootmem.hpp"
#include "core/render.hpp"
#include "core/trace.hpp"
#include "oracle/bootmem_model.hpp"
#include "oracle/executor.hpp"

namespace mbfuzz::oracle {
namespace {

constexpr Phys page = BootmemModel::page_size;

std::string runs_line(const BootmemNode& n) {
  std::string text = fmt::format("node {} [{:#x}, {:#x}) reserved:", n.nid, n.min_pfn, n.low_pfn);
  for (auto [s, e] : n.reserved) text += fmt::format(" [{:#x}, {:#x})", s, e);
  return text;
}

std::string nodes_line(const BootmemSnapshot& s) {
  std::string text;
  for (const BootmemNode& n : s.nodes)
    text += fmt::format("{}node {} [{:#x}, {:#x}) map {:#x}{}", text.empty() ? "" : ", ", n.nid, n.min_pfn,
                        n.low_pfn, n.map_pfn, n.has_map ? "" : " handed over");
  return text.empty() ? "no nodes" : text;
}

std::string events_line(const Outcome& o) {
  std::string text;
  for (const KernelEvent& e : o.events)
    text += fmt::format("{}{}", text.empty() ? "" : ", ", e.kind == KernelEvent::Kind::bug ? "BUG" : "WARN");
  return text.empty() ? "none" : text;
}

bool same_event_kinds(const Outcome& a, const Outcome& b) {
  return std::equal(a.events.begin(), a.events.end(), b.events.begin(), b.events.end(),
                    [](const KernelEvent& x, const KernelEvent& y) { return x.kind == y.kind; });
}

// The bitmap on its own: runs of reserved pages inside the node, ascending,
// apart (a run is maximal).
std::optional<std::string> bitmap_invariants(const BootmemSnapshot& s) {
  for (const BootmemNode& n : s.nodes) {
    std::uint64_t previous_end = 0;
    bool first = true;
    for (auto [start, end] : n.reserved) {
      if (start >= end || start < n.min_pfn || end > n.low_pfn)
        return fmt::format("node {}: run [{:#x}, {:#x}) outside [{:#x}, {:#x})", n.nid, start, end, n.min_pfn, n.low_pfn);
      if (!first && start <= previous_end)
        return fmt::format("node {}: run at {:#x} not after the one ending at {:#x}", n.nid, start, previous_end);
      previous_end = end;
      first = false;
    }
  }
  return std::nullopt;
}

bool reserved_in(const BootmemSnapshot& s, std::uint64_t pfn) {
  for (const BootmemNode& n : s.nodes)
    for (auto [start, end] : n.reserved)
      if (start <= pfn && pfn < end) return true;
  return false;
}

// An allocation on its own: aligned, inside one node, on pages that were
// free before (but a first page it shares with the last allocation),
// reserved after, zeroed.
std::optional<std::string> allocation_invariants(const Op& op, const Outcome& outcome, const BootmemSnapshot& before,
                                                 const BootmemSnapshot& after) {
  const auto* a = std::get_if<Allocation>(&outcome.value);
  if (!a || a->kind != Allocation::Kind::memory) return std::nullopt;
  const auto [size, align] = std::visit(
      [](const auto& o) -> std::pair<Phys, Phys> {
        if constexpr (requires { o.size; o.align; }) return {o.size, o.align};
        else return {0, 0};
      },
      op);
  const Phys end = a->addr + size;
  if (align && a->addr % align) return fmt::format("{:#x} is not aligned to {:#x}", a->addr, align);
  const auto node = std::find_if(before.nodes.begin(), before.nodes.end(), [&](const BootmemNode& n) {
    return n.min_pfn * page <= a->addr && end <= n.low_pfn * page;
  });
  if (node == before.nodes.end()) return fmt::format("[{:#x}, {:#x}) is not inside one node", a->addr, end);
  const bool shares_first_page = a->addr % page != 0;
  for (std::uint64_t pfn = a->addr / page; pfn < (end + page - 1) / page; ++pfn) {
    if (reserved_in(before, pfn) && !(shares_first_page && pfn == a->addr / page))
      return fmt::format("page {:#x} of [{:#x}, {:#x}) was reserved before the call", pfn, a->addr, end);
    if (!reserved_in(after, pfn) && !(shares_first_page && pfn == a->addr / page))
      return fmt::format("page {:#x} of [{:#x}, {:#x}) is not reserved after the call", pfn, a->addr, end);
  }
  if (a->zeroed != true) return fmt::format("[{:#x}, {:#x}) was not zeroed", a->addr, end);
  return std::nullopt;
}

}  // namespace

CheckResult DifferentialExecutor::check_bootmem(std::span<const Op> ops) {
  if (!std::all_of(ops.begin(), ops.end(), is_bootmem_op)) {
    CheckResult mixed;
    mixed.verdict = CheckResult::Verdict::inconclusive;
    mixed.reason = "the sequence mixes memblock's calls and bootmem's: neither allocator answers both";
    return mixed;
  }
  const CheckResult bootmem = check_bootmem_alone(ops);
  if (bootmem.verdict == CheckResult::Verdict::diverged || bootmem.verdict == CheckResult::Verdict::inconclusive)
    return bootmem;

  // The same calls as memblock answers them, also when bootmem departed from
  // its specification in a known way: memblock's answers do not depend on it.
  const MemblockCalls calls = nobootmem_calls(ops);
  CheckResult memblock = check(calls.ops);
  if (memblock.divergence) {
    Divergence& d = *memblock.divergence;
    d.memblock_call = d.op;
    d.op_index = calls.origin[d.op_index];  // every memblock call answers a bootmem call
    d.op = ops[d.op_index];
  }
  if (memblock.verdict == CheckResult::Verdict::inconclusive)
    memblock.reason = "memblock, answering as nobootmem did: " + memblock.reason;
  if (memblock.verdict == CheckResult::Verdict::diverged) return memblock;
  if (bootmem.verdict == CheckResult::Verdict::known) return bootmem;
  return memblock.verdict == CheckResult::Verdict::agree ? bootmem : memblock;
}

CheckResult DifferentialExecutor::check_bootmem_alone(std::span<const Op> ops) {
  CheckResult result;
  {
    ProductionBootmem production(bootmem_);
    BootmemModel model;
    BootmemSnapshot state = production.snapshot();
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const Op& op = ops[i];
      Divergence d;
      d.op_index = i;
      d.op = op;
      Divergence::BootmemStates states;
      states.before = std::move(state);
      d.actual_outcome = production.run(op);
      states.actual = production.snapshot();
      for (const KernelEvent& e : d.actual_outcome.events)
        if (e.kind == KernelEvent::Kind::limit) {
          result.verdict = CheckResult::Verdict::inconclusive;
          result.reason = fmt::format("op {} ({}): outside the simulation or the specification: {}", i,
                                      format_op(op), e.text);
          return result;
        }
      std::optional<Outcome> predicted = model.run(op);
      if (!predicted) {
        result.verdict = CheckResult::Verdict::inconclusive;
        result.reason = fmt::format("op {} ({}) is outside bootmem's specification", i, format_op(op));
        return result;
      }
      d.expected_outcome = *predicted;
      states.expected = model.snapshot();

      auto diverge = [&](std::string check, std::string expected, std::string actual) {
        d.check = std::move(check);
        d.expected = std::move(expected);
        d.actual = std::move(actual);
        d.bootmem = std::move(states);
        conclude(result, std::move(d));
        return result;
      };
      const BootmemSnapshot& actual = states.actual;
      const BootmemSnapshot& expected = states.expected;
      if (d.actual_outcome.status != d.expected_outcome.status || d.actual_outcome.value != d.expected_outcome.value)
        return diverge("outcome", render_outcome(d.expected_outcome), render_outcome(d.actual_outcome));
      if (!same_event_kinds(d.actual_outcome, d.expected_outcome))
        return diverge("events", events_line(d.expected_outcome), events_line(d.actual_outcome));
      if (auto violation = bitmap_invariants(actual)) return diverge("invariant: bitmap", "", *violation);
      if (auto violation = allocation_invariants(op, d.actual_outcome, states.before, actual))
        return diverge("invariant: allocation", "", *violation);
      if (actual.nodes.size() != expected.nodes.size())
        return diverge("nodes", nodes_line(expected), nodes_line(actual));
      for (std::size_t n = 0; n < actual.nodes.size(); ++n) {
        const BootmemNode &a = actual.nodes[n], &e = expected.nodes[n];
        if (a.nid != e.nid || a.min_pfn != e.min_pfn || a.low_pfn != e.low_pfn || a.map_pfn != e.map_pfn ||
            a.has_map != e.has_map)
          return diverge("nodes", nodes_line(expected), nodes_line(actual));
        if (a.reserved != e.reserved) return diverge("bitmap", runs_line(e), runs_line(a));
        if (a.hint_idx != e.hint_idx)
          return diverge("hint_idx", fmt::format("node {}: {:#x}", e.nid, e.hint_idx),
                         fmt::format("node {}: {:#x}", a.nid, a.hint_idx));
        if (a.last_end_off != e.last_end_off)
          return diverge("last_end_off", fmt::format("node {}: {:#x}", e.nid, e.last_end_off),
                         fmt::format("node {}: {:#x}", a.nid, a.last_end_off));
      }
      result.ops_checked = i + 1;
      state = std::move(states.actual);
    }
  }
  return result;
}

}  // namespace mbfuzz::oracle
