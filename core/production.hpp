// The production memblock: mm/memblock.c of the kernel tree under test,
// driven through the op vocabulary.
#pragma once

#include <optional>

#include "core/op.hpp"
#include "core/outcome.hpp"
#include "core/snapshot.hpp"
#include "core/variant.hpp"

namespace mbfuzz {

class ProductionMemblock {
 public:
  // Starts from a freshly booted state. A variant's kernel state is global to
  // the process: only one ProductionMemblock per variant may exist at a time.
  explicit ProductionMemblock(const Variant& variant);
  ~ProductionMemblock();
  ProductionMemblock(const ProductionMemblock&) = delete;
  ProductionMemblock& operator=(const ProductionMemblock&) = delete;

  // Back to a freshly booted state: every piece of memblock's state, the
  // simulated memory and the environment switches.
  void reset();

  Outcome run(const Op& op);

  Snapshot snapshot() const;

  const Variant& variant() const { return variant_; }

  // printk lines of the last run() (memblock_dbg is off; errors and warnings).
  const std::vector<std::string>& kernel_log() const { return log_; }

  // What a kernel booted with memblock=debug prints of this state: the lines
  // of memblock's own `MEMBLOCK configuration:` dump. Empty after
  // memblock_discard(), which frees the arrays it would print.
  std::vector<std::string> own_dump();

 private:
  bool discarded() const;

  const Variant& variant_;
  std::vector<std::string> log_;
  // The region arrays as memblock_discard() found them: it frees them (a
  // kmalloc'd array goes back to the heap) while memblock still points at
  // them, so later snapshots show this copy instead of reading freed memory.
  std::optional<Snapshot> discarded_arrays_;
};

}  // namespace mbfuzz
