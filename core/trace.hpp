// The text trace: one op per line, readable and writable by people.
//
//   # comment to the end of the line
//   add 0x100000 16M
//   alloc_try_nid size=0x100 align=0x40 min=0 max=ANYWHERE nid=1
//
// Fields are given in order (positional) or as name=value, not mixed.
// Numbers are decimal or 0x-hex with an optional K, M, G or T (binary)
// suffix. Symbolic values: ANYWHERE/ACCESSIBLE/NOLEAKTRACE for allocation
// limits, NUMA_NO_NODE for node ids, NONE/HOTPLUG/MIRROR/NOMAP/DRIVER_MANAGED
// joined with | for flags, NULL for a pointer, memory/reserved for a region
// type, true/false (or on/off) for switches, PHYS_ADDR_MAX for any address.
// docs/trace-format.md is the reference.
#pragma once

#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/op.hpp"

namespace mbfuzz {

// A syntax error, located: file:line:col: message.
class TraceError : public std::runtime_error {
 public:
  TraceError(std::string file, int line, int column, std::string message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  int column() const { return column_; }
  const std::string& message() const { return message_; }

 private:
  std::string file_;
  int line_;
  int column_;
  std::string message_;
};

struct Trace {
  std::string source;       // file name, for messages
  std::vector<Op> ops;
  std::vector<int> lines;   // the line each op came from
};

// Throws TraceError on the first error.
Trace parse_trace(std::string_view text, std::string_view source);

// Throws TraceError (line 0) when the file cannot be read.
Trace read_trace(const std::filesystem::path& path);

// The canonical text of one op; parse_trace(format_op(op)) gives op back.
std::string format_op(const Op& op);

// One op per line.
std::string format_trace(std::span<const Op> ops);

}  // namespace mbfuzz
