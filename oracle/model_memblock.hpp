// The model behind the interface of ProductionMemblock, so that the
// hand-written scenarios of core/tests (expected values from memblock's
// documentation) test the specification's predictions too.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "core/trace.hpp"
#include "core/variant.hpp"
#include "oracle/model.hpp"

namespace mbfuzz::oracle {

class ModelMemblock {
 public:
  explicit ModelMemblock(const Variant& variant)
      : variant_(variant), model_(Knobs::for_build(variant.build())) {}

  void reset() { model_ = Model(Knobs::for_build(variant_.build())); }

  Outcome run(const Op& op) {
    std::optional<Outcome> outcome = model_.run(op);
    if (!outcome) throw std::invalid_argument("outside the specification: " + format_op(op));
    return *outcome;
  }

  Snapshot snapshot() const { return model_.snapshot(); }
  const Variant& variant() const { return variant_; }

  // The model prints nothing.
  const std::vector<std::string>& kernel_log() const { return no_log_; }

 private:
  const Variant& variant_;
  Model model_;
  std::vector<std::string> no_log_;
};

}  // namespace mbfuzz::oracle
