#include "oracle/executor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>

#include "core/decode.hpp"
#include "core/render.hpp"
#include "core/trace.hpp"
#include "oracle/known_divergences.hpp"

namespace mbfuzz::oracle {
namespace {

// ---- invariants of the production state alone --------------------------------

std::optional<std::string> array_invariants(std::string_view name, const RegionArray& a) {
  if (a.cnt > a.max) return fmt::format("{}: cnt {} exceeds max {}", name, a.cnt, a.max);
  Phys sum = 0;
  for (std::size_t i = 0; i < a.regions.size(); ++i) {
    const Region& r = a.regions[i];
    sum += r.size;
    if (r.size == 0 && a.cnt != 1) return fmt::format("{}[{}] is empty", name, i);
    if (i + 1 < a.regions.size() && r.end() > a.regions[i + 1].base)
      return fmt::format("{}[{}] [{:#x}, {:#x}) is not below {}[{}] at {:#x}", name, i, r.base,
                         r.end(), name, i + 1, a.regions[i + 1].base);
  }
  if (sum != a.total_size)
    return fmt::format("{}: total_size {:#x} but the regions add up to {:#x}", name, a.total_size, sum);
  return std::nullopt;
}

// Touching neighbours with equal node and flags, where the specification
// says the array is merged (it is not after some cuts).
std::optional<std::string> unmerged(std::string_view name, const RegionArray& actual,
                                    const RegionArray& expected) {
  auto first_pair = [](const RegionArray& a) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i + 1 < a.regions.size(); ++i) {
      const Region &r = a.regions[i], &next = a.regions[i + 1];
      if (r.end() == next.base && r.nid == next.nid && r.flags == next.flags) return i;
    }
    return std::nullopt;
  };
  if (first_pair(expected)) return std::nullopt;
  if (auto i = first_pair(actual))
    return fmt::format("{}[{}] and {}[{}] touch with equal nid and flags", name, *i, name, *i + 1);
  return std::nullopt;
}

// What an allocating op asked for, to check its result on its own.
struct Request {
  Phys size = 0;
  Phys align = 0;
  Phys lowest = 0;   // no allocation below this
  Phys highest = 0;  // nor above this
  bool zeroing = false;
};

std::optional<Request> request_of(const Op& op, const Snapshot& before, const Knobs& k) {
  auto limit = [&](Phys end) {
    return end == Limit::accessible || end == Limit::noleaktrace ? before.current_limit : end;
  };
  // memblock_alloc* (virtual) cap end at current_limit and may drop start;
  // the physical allocators keep both.
  auto req = [&](Phys size, Phys align, Phys start, Phys end, bool zeroing, bool is_virtual) {
    Phys hi = end & k.phys_addr_max();
    if (is_virtual) hi = std::min(hi, before.current_limit);
    const Phys lo = std::max(start & k.phys_addr_max(), k.page_size);
    // An empty bound [lo, hi) with hi < lo leaves only lo (end = max(start, end)).
    const Phys a = align & k.phys_addr_max();  // a C caller's value, converted to phys_addr_t
    return Request{size & k.phys_addr_max(), a ? a : k.smp_cache_bytes,
                   is_virtual ? k.page_size : lo, std::max(lo, limit(hi)), zeroing};
  };
  return std::visit(
      [&](const auto& o) -> std::optional<Request> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, PhysAlloc>) return req(o.size, o.align, 0, 0, false, false);
        else if constexpr (std::is_same_v<T, PhysAllocRange>) return req(o.size, o.align, o.start, o.end.value, false, false);
        else if constexpr (std::is_same_v<T, PhysAllocTryNid>) return req(o.size, o.align, 0, 0, false, false);
        else if constexpr (std::is_same_v<T, AllocRangeNid>) return req(o.size, o.align, o.start, o.end.value, false, false);
        else if constexpr (std::is_same_v<T, Alloc> || std::is_same_v<T, AllocRaw>) return req(o.size, o.align, 0, 0, zeroing_alloc_v<T>, true);
        else if constexpr (std::is_same_v<T, AllocFrom>) return req(o.size, o.align, o.min, 0, true, true);
        else if constexpr (std::is_same_v<T, AllocLow>) return req(o.size, o.align, 0, 0xffffffff, true, true);
        else if constexpr (std::is_same_v<T, AllocNode>) return req(o.size, o.align, 0, 0, true, true);
        else if constexpr (std::is_same_v<T, AllocTryNid> || std::is_same_v<T, AllocTryNidRaw> ||
                           std::is_same_v<T, AllocExactNidRaw>)
          return req(o.size, o.align, o.min, o.max.value, zeroing_alloc_v<T>, true);
        else return std::nullopt;
      },
      op);
}

std::optional<Phys> allocated_address(const Outcome& outcome) {
  if (const auto* a = std::get_if<Address>(&outcome.value)) return a->value ? std::optional(a->value) : std::nullopt;
  if (const auto* a = std::get_if<Allocation>(&outcome.value))
    return a->kind == Allocation::Kind::memory ? std::optional(a->addr) : std::nullopt;
  return std::nullopt;
}

// The part of [lo, hi) the array's regions cover (regions with any of
// `without_flags` left out).
AddressSet covered(const RegionArray& a, Phys lo, Phys hi, std::uint32_t without_flags = 0) {
  AddressSet set;
  for (const Region& r : a.regions)
    if (r.size && r.base < hi && lo < r.end() && !(r.flags & without_flags))
      set += interval(std::max(r.base, lo), std::min(r.end(), hi));
  return set;
}

// An allocation lies in memory minus reserved as they were before the call,
// not in NOMAP memory, aligned, within its bounds, reserved afterwards, and
// zeroed when the allocator zeroes.
std::optional<std::string> allocation_invariants(const Op& op, const Outcome& outcome,
                                                 const Snapshot& before, const Snapshot& after,
                                                 const Knobs& k) {
  auto request = request_of(op, before, k);
  auto addr = allocated_address(outcome);
  if (!request || !addr) return std::nullopt;
  const Phys end = *addr + request->size;
  if (request->size != 0) {
    AddressSet free = covered(before.memory, *addr, end, Flags::nomap) - covered(before.reserved, *addr, end);
    if (!icl::contains(free, interval(*addr, end)))
      return fmt::format("[{:#x}, {:#x}) was not free (mapped) memory before the call", *addr, end);
    if (!icl::contains(covered(after.reserved, *addr, end), interval(*addr, end)))
      return fmt::format("[{:#x}, {:#x}) is not reserved after the call", *addr, end);
  }
  if (*addr % request->align != 0)
    return fmt::format("{:#x} is not aligned to {:#x}", *addr, request->align);
  if (*addr < request->lowest || end > request->highest)
    return fmt::format("[{:#x}, {:#x}) is outside [{:#x}, {:#x})", *addr, end, request->lowest, request->highest);
  if (const auto* a = std::get_if<Allocation>(&outcome.value); a && a->zeroed == false)
    return fmt::format("[{:#x}, {:#x}) was not zeroed", *addr, end);
  return std::nullopt;
}

// ---- warnings ------------------------------------------------------------------------

// The WARNs memblock raises when its caller breaks the contract, as its
// kernel-doc and messages say: a deprecated node id, an early allocator
// called once slab is up, a range added over regions of another node or with
// other flags. Any other WARN is memblock's own consistency check failing.
constexpr std::array caller_misuse_warnings{
    std::string_view{"Usage of MAX_NUMNODES is deprecated"},
    std::string_view{"WARN_ON_ONCE(slab_is_available())"},
    std::string_view{"WARN_ON(nid != memblock_get_region_node(rgn))"},
    std::string_view{"WARN_ON(flags != rgn->flags)"},
};

std::optional<std::string> unexpected_warning(const Outcome& outcome) {
  for (const KernelEvent& e : outcome.events) {
    if (e.kind != KernelEvent::Kind::warn) continue;
    bool misuse = std::any_of(caller_misuse_warnings.begin(), caller_misuse_warnings.end(),
                              [&](std::string_view text) { return e.text.find(text) != std::string::npos; });
    if (!misuse) return fmt::format("{}:{}: {}", e.file, e.line, e.text);
  }
  return std::nullopt;
}

// ---- comparison with the model ---------------------------------------------------

std::string array_line(const RegionArray& a) {
  std::string text = fmt::format("cnt {} max {} total {:#x}{}:", a.cnt, a.max, a.total_size,
                                 a.in_static_array ? "" : " reallocated");
  for (const Region& r : a.regions)
    text += fmt::format(" [{:#x}, {:#x}) {} nid {}", r.base, r.end(), render_flags(r.flags), r.nid);
  return text;
}

std::string globals_line(const Snapshot& s) {
  return fmt::format("bottom_up {} current_limit {:#x} can_resize {} has_some_mirror {} discarded {}",
                     s.bottom_up, s.current_limit, s.can_resize, s.has_some_mirror, s.discarded);
}

bool same_globals(const Snapshot& a, const Snapshot& b) {
  return a.bottom_up == b.bottom_up && a.current_limit == b.current_limit &&
         a.can_resize == b.can_resize && a.has_some_mirror == b.has_some_mirror &&
         a.discarded == b.discarded;
}

}  // namespace

DifferentialExecutor::DifferentialExecutor(const Variant& variant, const BootmemBuild& bootmem)
    : production_(variant), bootmem_(bootmem), knobs_(Knobs::for_build(variant.build())) {}

CheckResult DifferentialExecutor::check(std::span<const Op> ops) {
  if (vocabulary_of(ops) == Vocabulary::bootmem) return check_bootmem(ops);
  production_.reset();
  Model model(knobs_);
  CheckResult result;
  Snapshot state = production_.snapshot();  // before the next op
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    Divergence d;
    d.op_index = i;
    d.op = op;
    d.before = std::move(state);
    d.actual_outcome = production_.run(op);
    d.actual_state = production_.snapshot();
    // Before the model runs: what stopped the simulation may be too big to predict.
    for (const KernelEvent& e : d.actual_outcome.events)
      if (e.kind == KernelEvent::Kind::limit) {
        result.verdict = CheckResult::Verdict::inconclusive;
        result.reason = fmt::format("op {} ({}): simulation limit: {}", i, format_op(op), e.text);
        return result;
      }
    std::optional<Outcome> predicted = model.run(op);
    if (!predicted) {
      result.verdict = CheckResult::Verdict::inconclusive;
      result.reason = fmt::format("op {} ({}) is outside the specification (an alignment that is not a power "
                                  "of two, or a free of memblock's own region array)",
                                  i, format_op(op));
      return result;
    }
    d.expected_outcome = *predicted;
    d.expected_state = model.snapshot();

    auto diverge = [&](std::string check, std::string expected, std::string actual) {
      d.check = std::move(check);
      d.expected = std::move(expected);
      d.actual = std::move(actual);
      conclude(result, std::move(d));
      return result;
    };

    const Snapshot& actual = d.actual_state;
    const Snapshot& expected = d.expected_state;
    if (d.actual_outcome.status != d.expected_outcome.status || d.actual_outcome.value != d.expected_outcome.value)
      return diverge("outcome", render_outcome(d.expected_outcome), render_outcome(d.actual_outcome));
    if (auto warning = unexpected_warning(d.actual_outcome)) return diverge("warn", "no WARN", *warning);
    for (auto [name, a] : {std::pair{"memory", &actual.memory}, std::pair{"reserved", &actual.reserved}})
      if (auto violation = array_invariants(name, *a)) return diverge("invariant: " + std::string(name), "", *violation);
    if (auto violation = unmerged("memory", actual.memory, expected.memory))
      return diverge("invariant: merged", "", *violation);
    if (auto violation = unmerged("reserved", actual.reserved, expected.reserved))
      return diverge("invariant: merged", "", *violation);
    if (auto violation = allocation_invariants(op, d.actual_outcome, d.before, actual, knobs_))
      return diverge("invariant: allocation", "", *violation);
    if (actual.memory != expected.memory) return diverge("memory", array_line(expected.memory), array_line(actual.memory));
    if (actual.reserved != expected.reserved)
      return diverge("reserved", array_line(expected.reserved), array_line(actual.reserved));
    if (!same_globals(actual, expected)) return diverge("globals", globals_line(expected), globals_line(actual));
    result.ops_checked = i + 1;
    state = std::move(d.actual_state);
  }
  if (auto d = own_dump_differs(ops, model.snapshot(), std::move(state))) {
    result.verdict = CheckResult::Verdict::diverged;
    result.divergence = std::move(d);
  }
  return result;
}

void DifferentialExecutor::conclude(CheckResult& result, Divergence d) const {
  if (const KnownDivergence* known = match_known_divergence(d, knobs_)) {
    result.verdict = CheckResult::Verdict::known;
    result.known_id = std::string(known->id);
  } else {
    result.verdict = CheckResult::Verdict::diverged;
  }
  result.divergence = std::move(d);
}

// What memblock=debug would print of the final state (memblock's own
// early_memblock and memblock_dump_all), line by line against the dump of
// the specification's arrays.
std::optional<Divergence> DifferentialExecutor::own_dump_differs(std::span<const Op> ops, const Snapshot& expected,
                                                                 Snapshot actual) {
  if (ops.empty() || actual.discarded) return std::nullopt;
  std::vector<std::string> printed = production_.own_dump();
  std::vector<std::string> predicted = render_memblock_dump(expected, production_.variant().build());
  if (printed == predicted) return std::nullopt;
  Divergence d;
  d.op_index = ops.size() - 1;
  d.op = ops.back();
  d.expected_state = expected;
  d.before = actual;
  d.actual_state = std::move(actual);
  d.check = "dump";
  std::size_t line = 0;
  while (line < printed.size() && line < predicted.size() && printed[line] == predicted[line]) ++line;
  d.expected = line < predicted.size() ? fmt::format("line {}: {}", line + 1, predicted[line]) : "no more lines";
  d.actual = line < printed.size() ? fmt::format("line {}: {}", line + 1, printed[line]) : "no more lines";
  return d;
}

}  // namespace mbfuzz::oracle
