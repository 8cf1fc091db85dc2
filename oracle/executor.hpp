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
//
// A sequence of bootmem's calls runs three ways (docs/allocators.md): on
// bootmem against its model (outcome, the kinds of the events, every
// node's span, bitmap, hint and last allocation's end, and an allocation
// on its own: aligned, in one node, on pages that were free, reserved
// after and zeroed), and, as nobootmem answered the same calls, on memblock
// against memblock's model, with every check above.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "core/bootmem.hpp"
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
  // When bootmem diverged: its states (the memblock ones above are then empty).
  struct BootmemStates {
    BootmemSnapshot before, expected, actual;
  };
  std::optional<BootmemStates> bootmem;
  // When memblock diverged answering a bootmem call (`op`): the memblock call
  // that did; the states above are memblock's.
  std::optional<Op> memblock_call;
  // The stable signature for deduplication: op kind (and memblock's call
  // answering it) and check.
  std::string signature() const {
    std::string kind(op_name(op));
    if (memblock_call) kind += " via " + std::string(op_name(*memblock_call));
    return kind + ": " + check;
  }
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
  // Sequences of bootmem's calls run on `bootmem` (a broken build, to see
  // the checks catch it).
  explicit DifferentialExecutor(const Variant& variant, const BootmemBuild& bootmem = bootmem_as_written());

  // Runs `ops` from a freshly booted state.
  CheckResult check(std::span<const Op> ops);

  const Variant& variant() const { return production_.variant(); }

 private:
  // The verdict of a divergence: known when a reviewed entry matches it.
  void conclude(CheckResult& result, Divergence d) const;
  // A sequence of bootmem's calls: bootmem, and memblock as nobootmem answered them.
  CheckResult check_bootmem(std::span<const Op> ops);
  // bootmem against its model alone.
  CheckResult check_bootmem_alone(std::span<const Op> ops);
  std::optional<Divergence> own_dump_differs(std::span<const Op> ops, const Snapshot& expected, Snapshot actual);

  ProductionMemblock production_;
  const BootmemBuild& bootmem_;
  Knobs knobs_;
};

}  // namespace mbfuzz::oracle
