// mbfuzz boot: a boot layout (device tree, e820 map, memblock=debug log) as a trace.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "cli/commands.hpp"
#include "core/boot/dtb.hpp"
#include "core/boot/e820.hpp"
#include "core/boot/log.hpp"
#include "core/production.hpp"
#include "core/trace.hpp"
#include "core/variant.hpp"

namespace mbfuzz::cli {
namespace {

// The header names the layout by file name, so that a trace does not depend
// on where it was made.
std::string file_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

}  // namespace

int boot(const BootOptions& options) {
  if (options.dtb.empty() && options.e820.empty() && options.log.empty()) {
    fmt::print(stderr, "mbfuzz boot: give --dtb, --e820 or --log\n");
    return exit_bad_input;
  }
  const Variant* variant = find_variant(options.variant.empty() ? default_variant().name() : options.variant);
  if (!variant) {
    fmt::print(stderr, "mbfuzz boot: unknown variant '{}'\n", options.variant);
    return exit_bad_input;
  }
  // Early boot branches on memblock's answers: the production memblock gives them.
  ProductionMemblock memblock(*variant);
  boot::Run run = [&](const Op& op) { return memblock.run(op); };
  Trace trace;
  try {
    if (!options.log.empty()) {
      trace = boot::log_trace_file(options.log, variant->build());
    } else if (!options.e820.empty() && options.qemu) {
      boot::QemuLayout layout = boot::qemu_layout(boot::read_e820_file(options.e820), options.e820);
      fmt::print("{}\n{}\n{}\n", layout.memory, layout.machine, layout.memmap);
      return exit_ok;
    } else if (!options.e820.empty()) {
      boot::E820Options e820;
      e820.mem_limit = options.mem_limit;
      trace = boot::as_trace(boot::e820_boot_file(options.e820, e820, variant->build()), options.e820,
                             {fmt::format("{}: the x86 early boot Linux 6.1 performs for this e820 map "
                                          "(mbfuzz boot --e820)", file_name(options.e820))});
    } else {
      boot::DtbOptions dtb;
      dtb.mem_limit = options.mem_limit;
      trace = boot::as_trace(boot::dtb_boot_file(options.dtb, dtb, variant->build(), run), options.dtb,
                             {fmt::format("{}: the arm64 early boot Linux 6.1 performs for this device tree "
                                          "(mbfuzz boot --dtb)", file_name(options.dtb))});
    }
  } catch (const boot::BootError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return exit_bad_input;
  } catch (const std::invalid_argument& e) {  // a layout this variant cannot boot (arm64 on 32 bits)
    fmt::print(stderr, "mbfuzz boot: {}\n", e.what());
    return exit_bad_input;
  }
  std::string text = format_trace(trace);
  if (options.output.empty()) {
    fmt::print("{}", text);
    return exit_ok;
  }
  std::ofstream out(options.output, std::ios::binary);
  if (!(out << text)) {
    fmt::print(stderr, "mbfuzz boot: cannot write {}\n", options.output);
    return exit_bad_input;
  }
  return exit_ok;
}

}  // namespace mbfuzz::cli
