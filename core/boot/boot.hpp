// Boot layouts: producers that turn what firmware or a real kernel described
// (a device tree, an e820 map, a memblock=debug log) into the op sequence
// Linux 6.1's early boot performs. They make Ops like every other producer.
//
// Early boot branches on memblock's answers (a reserved-memory node is
// skipped when already reserved, the next alloc-range is tried when an
// allocation fails), so a producer is handed a Run: it runs each op it emits
// on a memblock and may look at the outcome before choosing the next one.
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/op.hpp"
#include "core/outcome.hpp"
#include "core/trace.hpp"

namespace mbfuzz::boot {

// Malformed input, located: "file:place: message" where the place is
// line:col in a text file, a byte offset or node path in a device tree;
// "file: message" when the place is empty (the file as a whole).
class BootError : public std::runtime_error {
 public:
  BootError(const std::string& file, const std::string& place, const std::string& message)
      : std::runtime_error(file + (place.empty() ? "" : ":" + place) + ": " + message) {}
};

// A layout file's whole content; BootError naming the path when it cannot
// be read.
inline std::string read_layout_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BootError(path.string(), "", "cannot open the file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw BootError(path.string(), "", "cannot read the file");
  return text;
}

// One op of a boot, and why the kernel makes that call (a trace comment).
struct Step {
  Op op;
  std::string why;
};

// Runs one op on a memblock and says what it did.
using Run = std::function<Outcome(const Op&)>;

// A boot as a trace: one op per step, its reason as the op's comment.
inline Trace as_trace(const std::vector<Step>& steps, std::string source, std::vector<std::string> header) {
  Trace trace;
  trace.source = std::move(source);
  trace.header = std::move(header);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    trace.ops.push_back(steps[i].op);
    trace.lines.push_back(static_cast<int>(i) + 1);
    if (!steps[i].why.empty()) trace.comments[i] = steps[i].why;
  }
  return trace;
}

}  // namespace mbfuzz::boot
