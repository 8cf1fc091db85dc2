// The differential executor: runs an op sequence on the production memblock
// and on the model, and after every op checks the production state on its
// own (invariants) and against the model's prediction.
//
// Compared: the op's status and return value; both region arrays (cnt, max,
// total_size, whether the array was reallocated, every region's base, size,
// flags and nid, the dummy entry included); bottom_up, current_limit,
// can_resize, has_some_mirror, discarded.
// A WARN is a finding unless it is one of those memblock raises at its
// caller's misuse (a deprecated node id, an early allocator called after
// slab is up, a range added over regions with other attributes): any other
// WARN is one of memblock's own consistency checks failing. A BUG shows as
// an `aborted` status the model did not predict.
// After the last op, what memblock=debug would print of the state (the
// kernel's own memblock_dump_all) is compared, line by line, with the dump
// of the specification's arrays.
// Not compared, and why: other printk text, and where a doubled array lies
// in host memory.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "core/production.hpp"
#include "oracle/model.hpp"

namespace mbfuzz::oracle {

// A finding: the first place production and specification disagree.
struct Divergence {
  std::size_t op_index = 0;
  Op op;
  std::string check;     // what was checked: "outcome", "memory", "invariant: sorted", ...
  std::string expected;  // one line each
  std::string actual;
  Outcome expected_outcome;
  Outcome actual_outcome;
  Snapshot before;  // production state before the op
  Snapshot expected_state;
  Snapshot actual_state;
  // The stable signature for deduplication: op kind and check.
  std::string signature() const { return std::string(op_name(op)) + ": " + check; }
};

struct CheckResult {
  enum class Verdict {
    agree,         // every op checked, no divergence
    diverged,      // a divergence not on the known list
    known,         // a listed known divergence; later ops are not checked
    inconclusive,  // an op outside the specification, or a simulation limit
  };
  Verdict verdict = Verdict::agree;
  std::size_t ops_checked = 0;
  std::optional<Divergence> divergence;
  std::string known_id;  // verdict == known
  std::string reason;    // verdict == inconclusive
};

class DifferentialExecutor {
 public:
  explicit DifferentialExecutor(const Variant& variant);

  // Runs `ops` from a freshly booted state.
  CheckResult check(std::span<const Op> ops);

  const Variant& variant() const { return production_.variant(); }

 private:
  std::optional<Divergence> own_dump_differs(std::span<const Op> ops, const Snapshot& expected, Snapshot actual);

  ProductionMemblock production_;
  Knobs knobs_;
};

}  // namespace mbfuzz::oracle
