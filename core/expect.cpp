#include "core/expect.hpp"

#include <fmt/format.h>

#include <optional>

#include "core/production.hpp"
#include "core/render.hpp"

namespace mbfuzz {
namespace {

// The address an op returned, 0 for a failed allocation; nullopt when the
// op does not return one.
std::optional<Phys> returned_address(const Outcome& outcome) {
  if (const auto* a = std::get_if<Address>(&outcome.value)) return a->value;
  if (const auto* a = std::get_if<Allocation>(&outcome.value))
    return a->kind == Allocation::Kind::memory ? a->addr : 0;
  return std::nullopt;
}

}  // namespace

ExpectedArray as_dumped(const RegionArray& actual, RegionType type, const Build& build) {
  ExpectedArray array;
  array.type = type;
  array.total_size = actual.total_size;
  for (const Region& r : actual.regions) {
    ExpectedRegion region;
    region.base = r.base;
    region.size = r.size;
    region.flags = Flags{r.flags};
    if (build.numa && r.nid != build.max_numnodes) region.nid = r.nid;
    array.regions.push_back(region);
  }
  return array;
}

ExpectationReport check_expectations(const Trace& trace, const Variant& variant) {
  ExpectationReport report;
  report.nids_compared = variant.build().numa;
  ProductionMemblock memblock(variant);
  auto array = trace.expected_arrays.begin();
  auto check_arrays_before = [&](std::size_t op) {
    for (; array != trace.expected_arrays.end() && array->after == op; ++array) {
      Snapshot state = memblock.snapshot();
      const RegionArray& actual_array = array->type == RegionType::memory ? state.memory : state.reserved;
      ExpectedArray expected = *array;
      ExpectedArray actual = as_dumped(actual_array, array->type, variant.build());
      actual.after = expected.after;
      actual.line = expected.line;
      if (!expected.total_size) actual.total_size.reset();
      if (!report.nids_compared)
        for (ExpectedRegion& r : expected.regions) r.nid.reset();
      ++report.arrays_checked;
      if (actual != expected)
        report.mismatches.push_back({array->line, fmt::format("{} dump", array->type == RegionType::memory ? "memory" : "reserved"),
                                     format_expected_array(expected), format_expected_array(actual)});
    }
  };
  for (std::size_t i = 0; i < trace.ops.size(); ++i) {
    check_arrays_before(i);
    Outcome outcome = memblock.run(trace.ops[i]);
    auto expected = trace.results.find(i);
    if (expected == trace.results.end()) continue;
    ++report.results_checked;
    std::optional<Phys> actual = returned_address(outcome);
    if (actual != expected->second)
      report.mismatches.push_back({trace.lines.at(i), fmt::format("result of {}", op_name(trace.ops[i])),
                                   fmt::format("{:#x}", expected->second),
                                   actual ? fmt::format("{:#x}", *actual) : render_outcome(outcome)});
  }
  check_arrays_before(trace.ops.size());
  return report;
}

}  // namespace mbfuzz
