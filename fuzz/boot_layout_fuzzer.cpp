// Boot layouts from any bytes (MBFUZZ_BOOT_FORMAT: dtb, e820 or log): the
// reader either accepts the input or throws a located BootError, never
// crashes or hangs. What it accepts is run as well:
// - dtb and e820: the boot's op sequence is checked on numa64 against the
//   specification, like any fuzzer's ops (a divergence not on the known
//   list is a finding); the device tree's branches follow the
//   specification's answers;
// - log: the trace prints and parses back to the same ops, results and
//   expected dumps, and replaying its expectations does not crash.
#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#include "core/boot/dtb.hpp"
#include "core/boot/e820.hpp"
#include "core/boot/log.hpp"
#include "core/expect.hpp"
#include "core/variant.hpp"
#include "oracle/executor.hpp"
#include "oracle/report.hpp"

#ifndef MBFUZZ_BOOT_FORMAT
#error "MBFUZZ_BOOT_FORMAT names the input format: dtb, e820 or log"
#endif

namespace {

using namespace mbfuzz;
constexpr std::string_view format = MBFUZZ_BOOT_FORMAT;

const Variant& variant() { return *find_variant("numa64"); }

oracle::DifferentialExecutor& executor() {
  static oracle::DifferentialExecutor instance(variant());
  return instance;
}

[[noreturn]] void finding(const std::string& what, std::string_view check) {
  fmt::print(stderr, "{}\nmbfuzz-signature: {}_boot: {}\n", what, format, check);
  std::fflush(stderr);
  std::abort();
}

// A branch of early boot hit an op the specification does not cover.
struct OutsideSpecification {};

std::vector<Op> boot_ops(std::span<const std::uint8_t> data) {
  std::vector<boot::Step> steps;
  if (format == "dtb") {
    oracle::Model model(oracle::Knobs::for_build(variant().build()));
    boot::Run run = [&](const Op& op) {
      std::optional<Outcome> outcome = model.run(op);
      if (!outcome) throw OutsideSpecification{};
      return *outcome;
    };
    steps = boot::dtb_boot(data, "input", boot::DtbOptions{}, variant().build(), run);
  } else {
    const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    steps = boot::e820_boot(boot::read_e820(text, "input"), boot::E820Options{}, variant().build());
  }
  std::vector<Op> ops;
  for (const boot::Step& s : steps) ops.push_back(s.op);
  return ops;
}

void check_log(std::string_view text) {
  const Trace trace = boot::log_trace(text, "input", variant().build());
  const Trace again = parse_trace(format_trace(trace), "printed");
  if (again.ops != trace.ops || again.results != trace.results ||
      again.expected_arrays.size() != trace.expected_arrays.size())
    finding("the log's trace does not print and parse back to itself:\n" + format_trace(trace), "round trip");
  for (std::size_t i = 0; i < trace.expected_arrays.size(); ++i)
    if (again.expected_arrays[i].regions != trace.expected_arrays[i].regions ||
        again.expected_arrays[i].total_size != trace.expected_arrays[i].total_size)
      finding("an expected dump does not print and parse back to itself:\n" + format_trace(trace), "round trip");
  check_expectations(trace, variant());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  try {
    if (format == "log") {
      check_log(std::string_view(reinterpret_cast<const char*>(data), size));
      return 0;
    }
    const std::vector<Op> ops = boot_ops(bytes);
    const oracle::CheckResult result = executor().check(ops);
    if (result.verdict == oracle::CheckResult::Verdict::diverged) {
      fmt::print(stderr, "{}", oracle::render_finding(variant().name(), ops, *result.divergence));
      std::fflush(stderr);
      std::abort();
    }
  } catch (const boot::BootError& e) {
    const std::string_view message = e.what();
    if (!message.starts_with("input:") && !message.starts_with("input: "))
      finding(fmt::format("a boot error that does not name its input: {}", message), "unlocated error");
  } catch (const OutsideSpecification&) {
  }
  return 0;
}
