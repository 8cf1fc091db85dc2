// The subcommands that work on one finding (repro, minimize, encode, emit-c)
// and boot, which turns a boot layout into a trace.
// main.cpp owns the command line; these own what each command does.
#pragma once

#include <optional>
#include <string>

#include "core/op.hpp"

namespace mbfuzz::cli {

constexpr int exit_ok = 0;
constexpr int exit_found = 1;
constexpr int exit_bad_input = 2;

struct FindingOptions {
  std::string input;           // a text trace or a fuzzer's binary input
  std::string format = "auto";  // auto, text or bytes
  std::string vocabulary = "memblock";  // how bytes decode: memblock's calls or bootmem's
  std::string variant;
  std::string emit_trace;      // repro: write the trace here
  std::string emit_c;          // repro: write a kernel-suite test here
  std::string output;          // minimize, encode: where to write
  std::size_t max_runs = 20000;
  std::string name;            // emit-c: the test function's name
};

struct BootOptions {
  std::string dtb, e820, log;  // exactly one is given
  std::optional<Phys> mem_limit;  // mem=
  std::string variant;
  std::string output;
  bool qemu = false;  // --e820: print how to boot it under QEMU instead
};

int repro(const FindingOptions& options);
int minimize(const FindingOptions& options);
int encode(const FindingOptions& options);
int emit_c(const FindingOptions& options);
int boot(const BootOptions& options);

}  // namespace mbfuzz::cli
