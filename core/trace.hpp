// The text trace: one op per line, readable and writable by people.
//
//   # comment to the end of the line
//   add 0x100000 16M
//   alloc_try_nid size=0x100 align=0x40 min=0 max=ANYWHERE nid=1
//   phys_alloc 0x1000 0x1000 => 0x7fff000      # the address a real kernel returned
//   expect reserved size=0x2000 [0x7ffe000,0x8000000) nid=0
//
// Fields are given in order (positional) or as name=value, not mixed.
// Numbers are decimal or 0x-hex with an optional K, M, G or T (binary)
// suffix. Symbolic values: ANYWHERE/ACCESSIBLE/NOLEAKTRACE for allocation
// limits, NUMA_NO_NODE for node ids, NONE/HOTPLUG/MIRROR/NOMAP/DRIVER_MANAGED
// joined with | for flags, NULL for a pointer, memory/reserved for a region
// type, true/false (or on/off) for switches, PHYS_ADDR_MAX for any address.
// docs/trace-format.md is the reference.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
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

// What a real kernel was seen to do (from a memblock=debug log): checked by
// `mbfuzz check`, ignored by replay.

// A region as a `MEMBLOCK configuration:` dump shows it.
struct ExpectedRegion {
  Phys base = 0;
  Phys size = 0;
  Flags flags;
  std::optional<int> nid;  // empty: no node printed (MAX_NUMNODES, or !CONFIG_NUMA)
  bool operator==(const ExpectedRegion&) const = default;
};

// One region array of a dump, checked once ops[0, after) have run.
struct ExpectedArray {
  std::size_t after = 0;
  int line = 0;
  RegionType type = RegionType::memory;
  std::optional<Phys> total_size;
  std::vector<ExpectedRegion> regions;
  bool operator==(const ExpectedArray&) const = default;
};

struct Trace {
  std::string source;       // file name, for messages
  std::vector<Op> ops;
  std::vector<int> lines;   // the line each op came from
  std::vector<std::string> header;            // comment lines before the first op
  std::map<std::size_t, std::string> comments;  // an op's trailing comment
  // An allocation's expected address (`=> 0x...`): 0 for a failed one.
  std::map<std::size_t, Phys> results;
  std::vector<ExpectedArray> expected_arrays;  // in order of `after`
};

// Throws TraceError on the first error.
Trace parse_trace(std::string_view text, std::string_view source);

// Throws TraceError (line 0) when the file cannot be read.
Trace read_trace(const std::filesystem::path& path);

// The canonical text of one op; parse_trace(format_op(op)) gives op back.
std::string format_op(const Op& op);

// One op per line.
std::string format_trace(std::span<const Op> ops);

// The whole trace: header, ops with their results and comments, expectations.
std::string format_trace(const Trace& trace);

// `expect <type> [size=S] [base,end) [nid=N] [flags=F] ...`
std::string format_expected_array(const ExpectedArray& array);

}  // namespace mbfuzz
