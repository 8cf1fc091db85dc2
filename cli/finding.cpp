#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>
#include <vector>

#include "cli/commands.hpp"
#include "core/decode.hpp"
#include "core/trace.hpp"
#include "core/variant.hpp"
#include "oracle/emit_c.hpp"
#include "oracle/executor.hpp"
#include "oracle/minimize.hpp"
#include "oracle/report.hpp"

namespace mbfuzz::cli {
namespace {

struct Input {
  std::vector<Op> ops;
  std::string description;
};

// A text trace when asked, or when the file is text that parses as one;
// otherwise fuzzer bytes, which always decode. Reports and returns nullopt
// on bad input.
std::optional<Input> read_input(const FindingOptions& options) {
  std::ifstream in(options.input, std::ios::binary);
  if (!in) {
    fmt::print(stderr, "mbfuzz: {}: cannot open the file\n", options.input);
    return std::nullopt;
  }
  const std::string content{std::istreambuf_iterator<char>(in), {}};
  const bool looks_like_text = std::all_of(content.begin(), content.end(), [](unsigned char c) {
    return c == '\n' || c == '\t' || c == '\r' || (c >= 0x20 && c < 0x7f);
  });
  if (options.format == "text" || (options.format == "auto" && looks_like_text && !content.empty())) {
    try {
      Trace trace = parse_trace(content, options.input);
      return Input{std::move(trace.ops), "text trace"};
    } catch (const TraceError& e) {
      if (options.format == "text") {
        fmt::print(stderr, "{}\n", e.what());
        return std::nullopt;
      }
    }
  }
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(content.data());
  const Vocabulary vocabulary = options.vocabulary == "bootmem" ? Vocabulary::bootmem : Vocabulary::memblock;
  std::vector<Op> ops = decode_ops(std::span(bytes, content.size()), vocabulary);
  return Input{std::move(ops), fmt::format("{} bytes, byte format v{}, {}'s calls", content.size(),
                                           byte_format_version, vocabulary_name(vocabulary))};
}

const Variant* variant_of(const FindingOptions& options) {
  const Variant* v = options.variant.empty() ? &default_variant() : find_variant(options.variant);
  if (!v) fmt::print(stderr, "mbfuzz: unknown variant '{}'\n", options.variant);
  return v;
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) fmt::print(stderr, "mbfuzz: {}: cannot write\n", path);
  return static_cast<bool>(out);
}

std::string trace_header(const Variant& v, std::string_view what) {
  return fmt::format("# {}\n# variant {} (Linux {}); replay with: mbfuzz check --variant {} FILE\n", what, v.name(),
                     v.build().kernel_version, v.name());
}

// `text` as a C identifier: every other character becomes '_'.
std::string c_identifier(std::string text) {
  for (char& c : text)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return text;
}

// Writes `ops` as a test for the kernel's suite of the variant's build;
// false after saying why not.
bool write_c_test(const std::string& path, const std::string& name, std::span<const Op> ops,
                  const Variant& variant, const std::string& comment) {
  oracle::CTest test = oracle::render_c_test(name, ops, oracle::knobs_for_kernel_suite(variant.build().numa), comment);
  if (test.source.empty()) {
    fmt::print(stderr, "mbfuzz: no C test: {}\n", test.error);
    return false;
  }
  return write_file(path, test.source);
}

}  // namespace

int repro(const FindingOptions& options) {
  const Variant* variant = variant_of(options);
  auto input = read_input(options);
  if (!variant || !input) return exit_bad_input;
  fmt::print("# {}: {}, {} ops\n{}\n", options.input, input->description, input->ops.size(),
             format_trace(input->ops));
  oracle::DifferentialExecutor executor(*variant);
  oracle::CheckResult result = executor.check(input->ops);
  using Verdict = oracle::CheckResult::Verdict;
  if (result.verdict != Verdict::diverged) {
    fmt::print("on {}: no finding: {}\n", variant->name(),
               result.verdict == Verdict::known          ? "known divergence " + result.known_id
               : result.verdict == Verdict::inconclusive ? "inconclusive: " + result.reason
                                                         : std::string("agrees with the specification"));
    return exit_ok;
  }
  const oracle::Divergence& d = *result.divergence;
  std::vector<Op> ops(input->ops.begin(), input->ops.begin() + static_cast<std::ptrdiff_t>(d.op_index + 1));
  fmt::print("{}", oracle::render_finding(variant->name(), ops, d));
  if (!options.emit_trace.empty() &&
      !write_file(options.emit_trace, trace_header(*variant, "signature: " + d.signature()) + format_trace(ops)))
    return exit_bad_input;
  if (!options.emit_c.empty()) {
    if (variant->build().phys_bits != 64)
      fmt::print(stderr, "mbfuzz: note: the kernel's suite has a 64-bit phys_addr_t; the test may not show a {} finding\n",
                 variant->name());
    const std::string name = c_identifier("mbfuzz_" + std::string(op_name(d.op)) + "_" + d.check);
    if (!write_c_test(options.emit_c, name, ops, *variant,
                      fmt::format("Found by mbfuzz on {}: {}", variant->name(), d.signature())))
      return exit_bad_input;
  }
  return exit_found;
}

int minimize(const FindingOptions& options) {
  const Variant* variant = variant_of(options);
  auto input = read_input(options);
  if (!variant || !input) return exit_bad_input;
  oracle::DifferentialExecutor executor(*variant);
  auto minimized = oracle::minimize(executor, input->ops, options.max_runs);
  if (!minimized) {
    fmt::print(stderr, "mbfuzz: {}: no divergence on {} to minimize\n", options.input, variant->name());
    return exit_bad_input;
  }
  const std::string text =
      trace_header(*variant, fmt::format("minimized from {} ({} ops to {}, {} runs); signature: {}", options.input,
                                         input->ops.size(), minimized->ops.size(), minimized->runs,
                                         minimized->signature)) +
      format_trace(minimized->ops);
  if (options.output.empty()) fmt::print("{}", text);
  else if (!write_file(options.output, text)) return exit_bad_input;
  return exit_ok;
}

int encode(const FindingOptions& options) {
  FindingOptions as_text = options;
  as_text.format = "text";
  auto input = read_input(as_text);
  if (!input) return exit_bad_input;
  const std::vector<std::uint8_t> bytes = encode_ops(input->ops);
  return write_file(options.output, std::string(bytes.begin(), bytes.end())) ? exit_ok : exit_bad_input;
}

int emit_c(const FindingOptions& options) {
  const Variant* variant = variant_of(options);
  auto input = read_input(options);
  if (!variant || !input) return exit_bad_input;
  const std::filesystem::path file(options.input);
  const std::string name = options.name.empty() ? c_identifier("mbfuzz_" + file.stem().string()) : options.name;
  return write_c_test(options.output, name, input->ops, *variant,
                      fmt::format("{}: {} ops, checked against memblock's specification", file.filename().string(),
                                  input->ops.size()))
             ? exit_ok
             : exit_bad_input;
}

}  // namespace mbfuzz::cli
