// Checks a trace's expectations (what a real kernel logged: allocation
// addresses and region dumps) against the production memblock replaying it.
// Every mismatch is reported, not only the first: a log is evidence of many
// independent facts.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/snapshot.hpp"
#include "core/trace.hpp"
#include "core/variant.hpp"

namespace mbfuzz {

struct ExpectationMismatch {
  int line = 0;          // the trace line of the op or `expect`
  std::string what;      // "result of alloc_try_nid", "reserved dump"
  std::string expected;  // one line each
  std::string actual;
};

struct ExpectationReport {
  std::size_t results_checked = 0;
  std::size_t arrays_checked = 0;
  std::vector<ExpectationMismatch> mismatches;
  bool nids_compared = true;  // false on a variant without CONFIG_NUMA
};

ExpectationReport check_expectations(const Trace& trace, const Variant& variant);

// A region array as a dump by a kernel of this build would print it: the
// node only where CONFIG_NUMA prints one.
ExpectedArray as_dumped(const RegionArray& array, RegionType type, const Build& build);

}  // namespace mbfuzz
