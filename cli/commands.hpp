// The subcommands that work on one finding: repro, minimize, encode, emit-c.
// main.cpp owns the command line; these own what each command does.
#pragma once

#include <string>

namespace mbfuzz::cli {

constexpr int exit_ok = 0;
constexpr int exit_found = 1;
constexpr int exit_bad_input = 2;

struct FindingOptions {
  std::string input;           // a text trace or a fuzzer's binary input
  std::string format = "auto";  // auto, text or bytes
  std::string variant;
  std::string emit_trace;      // repro: write the trace here
  std::string emit_c;          // repro: write a kernel-suite test here
  std::string output;          // minimize, encode: where to write
  std::size_t max_runs = 20000;
  std::string name;            // emit-c: the test function's name
};

int repro(const FindingOptions& options);
int minimize(const FindingOptions& options);
int encode(const FindingOptions& options);
int emit_c(const FindingOptions& options);

}  // namespace mbfuzz::cli
