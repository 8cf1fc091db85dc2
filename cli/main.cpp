// mbfuzz: the command line. Each subcommand is a thin front over the library.
//
// Exit codes, for every subcommand: 0 success, 1 the run found something
// (replay: a memblock call was aborted by BUG or a simulation limit; check:
// a divergence not on the known list), 2 bad input (usage, unreadable or
// malformed trace).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "core/boot/log.hpp"
#include "core/bootmem.hpp"
#include "core/decode.hpp"
#include "core/expect.hpp"
#include "core/production.hpp"
#include "core/render.hpp"
#include "core/trace.hpp"
#include "core/variant.hpp"
#include "oracle/executor.hpp"
#include "oracle/known_divergences.hpp"
#include "oracle/report.hpp"

namespace {

using namespace mbfuzz;
using cli::exit_bad_input;
using cli::exit_found;
using cli::exit_ok;

std::string variant_names() {
  std::string names;
  for (const Variant& v : all_variants()) names += fmt::format("{}{}", names.empty() ? "" : ", ", v.name());
  return names;
}

struct RunOptions {
  std::vector<std::string> traces;
  std::vector<std::string> logs;  // check: memblock=debug kernel logs
  std::string variant = std::string(default_variant().name());
  bool all_variants = false;
  bool quiet = false;
};

// The variants asked for, or nullopt after saying why not.
std::optional<std::vector<const Variant*>> chosen_variants(const RunOptions& options) {
  std::vector<const Variant*> variants;
  if (options.all_variants) {
    for (const Variant& v : all_variants()) variants.push_back(&v);
    return variants;
  }
  const Variant* v = find_variant(options.variant);
  if (!v) {
    fmt::print(stderr, "mbfuzz: unknown variant '{}' (one of: {})\n", options.variant, variant_names());
    return std::nullopt;
  }
  variants.push_back(v);
  return variants;
}

// The traces named and the logs read as traces for `build`, or nullopt
// after reporting the first bad one.
std::optional<std::vector<Trace>> read_traces(const RunOptions& options, const Build& build) {
  std::vector<Trace> traces;
  try {
    for (const std::string& path : options.traces) traces.push_back(read_trace(path));
    for (const std::string& path : options.logs) traces.push_back(boot::log_trace_file(path, build));
  } catch (const TraceError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return std::nullopt;
  } catch (const boot::BootError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return std::nullopt;
  }
  return traces;
}

// Runs the trace's ops on `system` (ProductionMemblock or ProductionBootmem),
// printing each op and its outcome (only aborted ones when quiet), then
// what `after_each` prints and, last, `final_state()`; returns whether every
// call completed.
template <class System, class AfterEach, class FinalState>
bool replay_on(System& system, const Trace& trace, bool quiet, AfterEach after_each, FinalState final_state) {
  bool all_completed = true;
  for (std::size_t i = 0; i < trace.ops.size(); ++i) {
    Outcome outcome = system.run(trace.ops[i]);
    const bool completed = outcome.status != Outcome::Status::aborted;
    all_completed = all_completed && completed;
    if (!quiet || !completed)
      fmt::print("{}:{}: {}\n    {}\n", trace.source, trace.lines[i], format_op(trace.ops[i]), render_outcome(outcome));
    if (!quiet) after_each();
  }
  if (!quiet) fmt::print("\n{}", final_state());
  return all_completed;
}

// Runs one trace on one variant (a trace of bootmem's calls on bootmem);
// returns whether every call completed.
bool replay_one(const Trace& trace, const Variant& variant, bool quiet) {
  if (vocabulary_of(trace.ops) == Vocabulary::bootmem) {
    if (!std::all_of(trace.ops.begin(), trace.ops.end(), is_bootmem_op)) {
      fmt::print(stderr, "{}: mixes memblock's calls and bootmem's: neither allocator answers both\n", trace.source);
      return false;
    }
    ProductionBootmem bootmem;
    if (!quiet) fmt::print("# {} on bootmem\n", trace.source);
    return replay_on(bootmem, trace, quiet, [] {}, [&] { return render_bootmem(bootmem.snapshot()); });
  }
  ProductionMemblock memblock(variant);
  if (!quiet) fmt::print("# {} on {} (Linux {})\n", trace.source, variant.name(), variant.build().kernel_version);
  return replay_on(
      memblock, trace, quiet,
      [&] {
        for (const std::string& line : memblock.kernel_log()) fmt::print("    printk: {}\n", line);
      },
      [&] { return render_snapshot(memblock.snapshot()); });
}

// Runs `one` on every trace and variant asked for: exit_found unless all
// returned true.
template <class PerTrace>
int run_each(const RunOptions& options, PerTrace one) {
  auto variants = chosen_variants(options);
  if (!variants) return exit_bad_input;
  // A log reads differently per variant (its MAX_NUMNODES, its page size).
  std::vector<std::vector<Trace>> inputs;
  for (const Variant* v : *variants) {
    auto traces = read_traces(options, v->build());
    if (!traces) return exit_bad_input;
    inputs.push_back(std::move(*traces));
  }
  bool all_fine = true;
  for (std::size_t t = 0; t < inputs.front().size(); ++t)
    for (std::size_t v = 0; v < variants->size(); ++v) all_fine = one(inputs[v][t], *(*variants)[v]) && all_fine;
  return all_fine ? exit_ok : exit_found;
}

bool check_against_specification(const Trace& trace, const Variant& variant);

// What a real kernel logged (allocation addresses, region dumps) against a
// replay on the production memblock: every mismatch. Returns whether none.
bool check_expected(const Trace& trace, const Variant& variant) {
  if (trace.results.empty() && trace.expected_arrays.empty()) return true;
  ExpectationReport report = check_expectations(trace, variant);
  for (const ExpectationMismatch& m : report.mismatches)
    fmt::print("{}:{}: {} differs from the kernel's log\n  logged:   {}\n  replayed: {}\n", trace.source, m.line,
               m.what, m.expected, m.actual);
  fmt::print("{} on {}: {} of {} logged allocation addresses and {} of {} region dumps reproduced{}\n",
             trace.source, variant.name(),
             report.results_checked - std::count_if(report.mismatches.begin(), report.mismatches.end(),
                                                    [](const auto& m) { return m.what.starts_with("result"); }),
             report.results_checked,
             report.arrays_checked - std::count_if(report.mismatches.begin(), report.mismatches.end(),
                                                   [](const auto& m) { return m.what.ends_with("dump"); }),
             report.arrays_checked, report.nids_compared ? "" : " (node ids not compared: no CONFIG_NUMA)");
  return report.mismatches.empty();
}

// Checks one trace on one variant against the specification, and against
// the kernel's log when it came from one; returns whether no unknown
// divergence and no mismatch was found.
bool check_one(const Trace& trace, const Variant& variant) {
  bool reproduced = check_expected(trace, variant);
  return check_against_specification(trace, variant) && reproduced;
}

bool check_against_specification(const Trace& trace, const Variant& variant) {
  oracle::DifferentialExecutor executor(variant);
  oracle::CheckResult result = executor.check(trace.ops);
  auto where = [&](std::size_t op) { return fmt::format("{}:{}", trace.source, trace.lines.at(op)); };
  switch (result.verdict) {
    case oracle::CheckResult::Verdict::agree:
      fmt::print("{} on {}: agrees with the specification ({} ops)\n", trace.source, variant.name(),
                 result.ops_checked);
      return true;
    case oracle::CheckResult::Verdict::inconclusive:
      fmt::print("{} on {}: agrees for {} ops, then inconclusive: {}\n", trace.source, variant.name(),
                 result.ops_checked, result.reason);
      return true;
    case oracle::CheckResult::Verdict::known: {
      const auto& d = *result.divergence;
      fmt::print("{}: on {}: known divergence {} ({}); later ops not checked\n", where(d.op_index),
                 variant.name(), result.known_id, d.signature());
      return true;
    }
    case oracle::CheckResult::Verdict::diverged:
      fmt::print("{}: on {}: {}", where(result.divergence->op_index), variant.name(),
                 oracle::render_divergence(*result.divergence));
      return false;
  }
  return false;
}

// The input of repro, minimize and emit-c: a file, the variant, how to read it.
void add_finding_input(CLI::App* command, cli::FindingOptions& options, const std::string& variant_help) {
  command->add_option("input", options.input, "Binary fuzzer input or text trace")->required();
  command->add_option("--variant", options.variant, variant_help);
  command->add_option("--format", options.format, "How to read the input")
      ->check(CLI::IsMember({"auto", "text", "bytes"}))
      ->capture_default_str();
  command->add_option("--vocabulary", options.vocabulary,
                      "Whose calls fuzzer bytes stand for (the fuzz target's): memblock's or bootmem's")
      ->check(CLI::IsMember({"memblock", "bootmem"}))
      ->capture_default_str();
}

int list_known_divergences() {
  for (const oracle::KnownDivergence& k : oracle::known_divergences())
    fmt::print("{}\n  {}\n  versions: {}\n  evidence: {}\n\n", k.id, k.title, k.versions, k.evidence);
  return exit_ok;
}

int list_variants() {
  for (const Variant& v : all_variants()) {
    const Build& b = v.build();
    fmt::print("{:8} Linux {}  CONFIG_NUMA={} MAX_NUMNODES={} phys_addr_t={} bits\n", b.name,
               b.kernel_version, b.numa ? "y" : "n", b.max_numnodes, b.phys_bits);
  }
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mbfuzz: differential fuzzing and verification of Linux memblock"};
  app.require_subcommand(1);

  RunOptions replay_options;
  CLI::App* replay_cmd = app.add_subcommand(
      "replay", "Run text traces on the production memblock; print each outcome and the final region tables");
  replay_cmd->add_option("traces", replay_options.traces, "Trace files")->required()->check(CLI::ExistingFile);
  replay_cmd->add_option("--variant", replay_options.variant, "Build variant: " + variant_names())
      ->capture_default_str();
  replay_cmd->add_flag("--all-variants", replay_options.all_variants, "Replay on every variant");
  replay_cmd->add_flag("--quiet", replay_options.quiet, "Print only calls that were aborted");

  RunOptions check_options;
  CLI::App* check_cmd = app.add_subcommand(
      "check", "Run text traces on the production memblock and the specification; report the first divergence");
  check_cmd->add_option("traces", check_options.traces, "Trace files")->check(CLI::ExistingFile);
  check_cmd->add_option("--log", check_options.logs,
                        "A kernel log taken with memblock=debug: replay it, report every allocation address "
                        "or region dump that differs")
      ->check(CLI::ExistingFile);
  check_cmd->add_option("--variant", check_options.variant, "Build variant: " + variant_names())
      ->capture_default_str();
  check_cmd->add_flag("--all-variants", check_options.all_variants, "Check on every variant");

  CLI::App* variants_cmd = app.add_subcommand("variants", "List the memblock builds linked in");
  CLI::App* known_cmd =
      app.add_subcommand("known", "List the known divergences of the kernel from its specification");

  cli::FindingOptions repro_options;
  CLI::App* repro_cmd = app.add_subcommand(
      "repro", "Reproduce a finding (a fuzzer's input or a text trace): the decoded trace and the first divergence");
  add_finding_input(repro_cmd, repro_options, "Build variant: " + variant_names());
  repro_cmd->add_option("--emit-trace", repro_options.emit_trace, "Write the trace up to the divergence here");
  repro_cmd->add_option("--emit-c", repro_options.emit_c,
                        "Write a test for the kernel's tools/testing/memblock suite here");

  cli::FindingOptions minimize_options;
  CLI::App* minimize_cmd = app.add_subcommand(
      "minimize", "Shrink a finding to the smallest trace with the same signature");
  add_finding_input(minimize_cmd, minimize_options, "Build variant: " + variant_names());
  minimize_cmd->add_option("-o,--output", minimize_options.output, "Write the trace here (default: stdout)");
  minimize_cmd->add_option("--max-runs", minimize_options.max_runs, "Give up shrinking after this many checks")
      ->capture_default_str();

  cli::FindingOptions encode_options;
  CLI::App* encode_cmd = app.add_subcommand(
      "encode", "Write a text trace as fuzzer bytes that decode to the same ops (a seed)");
  encode_cmd->add_option("trace", encode_options.input, "Text trace")->required();
  encode_cmd->add_option("-o,--output", encode_options.output, "Binary output file")->required();

  cli::FindingOptions emit_c_options;
  CLI::App* emit_c_cmd = app.add_subcommand(
      "emit-c", "Write a trace as a test for the kernel's tools/testing/memblock suite, expecting the specification");
  add_finding_input(emit_c_cmd, emit_c_options, "numa64 for the suite's `make NUMA=1`, uma64 for plain `make`");
  emit_c_cmd->add_option("-o,--output", emit_c_options.output, "The C file to write")->required();
  emit_c_cmd->add_option("--name", emit_c_options.name, "The test function's name (default: from the file name)");

  cli::BootOptions boot_options;
  CLI::App* boot_cmd = app.add_subcommand(
      "boot", "Write the op sequence Linux 6.1 performs at boot for a device tree, an e820 map or a "
              "memblock=debug log, as a trace");
  auto* dtb = boot_cmd->add_option("--dtb", boot_options.dtb, "A flattened device tree (arm64 boot)");
  auto* e820 = boot_cmd->add_option("--e820", boot_options.e820, "A dmesg with BIOS-e820 lines (x86 boot)");
  auto* log = boot_cmd->add_option("--log", boot_options.log, "A kernel log taken with memblock=debug");
  dtb->excludes(e820)->excludes(log);
  e820->excludes(log);
  boot_cmd->add_option("--mem", boot_options.mem_limit, "The mem= early parameter, in bytes (--dtb, --e820)");
  boot_cmd->add_option("--variant", boot_options.variant, "Build variant whose memblock answers: " + variant_names());
  boot_cmd->add_option("-o,--output", boot_options.output, "Write the trace here (default: stdout)");
  boot_cmd->add_flag("--qemu", boot_options.qemu,
                     "With --e820: print QEMU's -m and -machine values and the kernel's memmap= arguments "
                     "for booting a real kernel on this map, one per line");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return exit_bad_input;
  }

  if (*replay_cmd)
    return run_each(replay_options, [&](const Trace& trace, const Variant& v) {
      return replay_one(trace, v, replay_options.quiet);
    });
  if (*check_cmd) {
    if (check_options.traces.empty() && check_options.logs.empty()) {
      fmt::print(stderr, "mbfuzz check: give trace files or --log FILE\n");
      return exit_bad_input;
    }
    return run_each(check_options, check_one);
  }
  if (*repro_cmd) return cli::repro(repro_options);
  if (*minimize_cmd) return cli::minimize(minimize_options);
  if (*encode_cmd) return cli::encode(encode_options);
  if (*emit_c_cmd) return cli::emit_c(emit_c_options);
  if (*boot_cmd) return cli::boot(boot_options);
  if (*variants_cmd) return list_variants();
  if (*known_cmd) return list_known_divergences();
  return exit_bad_input;
}
