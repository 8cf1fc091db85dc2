// Model-based testing with rc::state: the commands are the ops, the model is
// the oracle's specification, the system is the production memblock. After
// every command the outcome and the whole state must be the model's.
#include <rapidcheck/state.h>

#include "oracle/model.hpp"
#include "props/generators.hpp"
#include "props/support.hpp"

namespace mbfuzz::props {
namespace {

using oracle::Model;

// Ops whose every use the specification settles here: below 4 GiB (no
// wrap-arounds), without trim_memory (which parts memblock and the model for
// the rest of a run, the known divergence trim-memory-total-size) and
// without set_node on reserved (reservations of different nodes meet at an
// empty free range, the known divergence empty-free-range-at-seam).
rc::Gen<Op> settled_op() {
  return rc::gen::suchThat(any_op(Space::low), [](const Op& op) {
    if (std::holds_alternative<TrimMemory>(op)) return false;
    if (const auto* set = std::get_if<SetNode>(&op)) return set->type == RegionType::memory;
    return true;
  });
}

struct RunOp : rc::state::Command<Model, ProductionMemblock> {
  Op op = *settled_op();

  void checkPreconditions(const Model& model) const override {
    Model copy = model;
    RC_PRE(copy.run(op).has_value());  // an op outside the specification
  }

  void apply(Model& model) const override { model.run(op); }

  void run(const Model& model, ProductionMemblock& memblock) const override {
    counterexample().ops.push_back(op);
    Model expected = model;
    const Outcome predicted = *expected.run(op);
    const Outcome actual = memblock.run(op);
    for (const KernelEvent& e : actual.events) RC_PRE(e.kind != KernelEvent::Kind::limit);
    RC_ASSERT(actual.status == predicted.status);
    RC_ASSERT(actual.value == predicted.value);
    const Snapshot state = memblock.snapshot(), spec = expected.snapshot();
    RC_ASSERT(state.memory == spec.memory);
    RC_ASSERT(state.reserved == spec.reserved);
    RC_ASSERT(state == spec);
  }

  void show(std::ostream& os) const override { os << format_op(op); }
};

TEST(Props, production_memblock_follows_the_model_command_by_command) {
  holds([] {
    const Variant& v = **variant();
    trying(v, {});
    ProductionMemblock memblock(v);
    rc::state::check(Model(oracle::Knobs::for_build(v.build())), memblock,
                     rc::state::gen::execOneOfWithArgs<RunOp>());
  });
}

}  // namespace
}  // namespace mbfuzz::props
