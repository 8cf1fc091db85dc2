// The text-trace parser on any bytes: it either returns a trace or throws a
// located TraceError, never crashes or hangs, and whatever it accepts prints
// back to text that parses to the same trace (parse ∘ print = identity): its
// ops, their results and comments, the expected dumps and the header.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  mbfuzz::Trace trace;
  try {
    trace = mbfuzz::parse_trace(text, "input");
  } catch (const mbfuzz::TraceError& e) {
    if (e.line() < 1 || e.column() < 1) {
      fmt::print(stderr, "unlocated trace error: {}\nmbfuzz-signature: trace_parser: unlocated error\n", e.what());
      std::abort();
    }
    return 0;
  }
  const std::string printed = mbfuzz::format_trace(trace);
  const mbfuzz::Trace again = mbfuzz::parse_trace(printed, "printed");
  auto same_arrays = [](const mbfuzz::ExpectedArray& a, const mbfuzz::ExpectedArray& b) {
    return a.after == b.after && a.type == b.type && a.total_size == b.total_size && a.regions == b.regions;
  };
  if (again.ops != trace.ops || again.results != trace.results || again.comments != trace.comments ||
      again.header != trace.header ||
      !std::equal(again.expected_arrays.begin(), again.expected_arrays.end(), trace.expected_arrays.begin(),
                  trace.expected_arrays.end(), same_arrays)) {
    fmt::print(stderr, "printing and parsing again changed the trace:\n{}\nmbfuzz-signature: trace_parser: round trip\n",
               printed);
    std::abort();
  }
  return 0;
}
