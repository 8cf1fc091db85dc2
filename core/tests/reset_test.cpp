// ProductionMemblock::reset() returns every piece of memblock's state to a
// freshly booted kernel's: proven by running many random sequences, then the
// same sequences again in another order (with other variants run in
// between), and requiring every outcome and every snapshot to be identical.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/production.hpp"
#include "core/render.hpp"
#include "core/tests/memblock_fixture.hpp"
#include "core/tests/random_ops.hpp"
#include "core/trace.hpp"

namespace mbfuzz::testing {
namespace {

struct Step {
  Outcome outcome;
  Snapshot snapshot;
};
using Steps = std::vector<Step>;

Steps run_sequence(ProductionMemblock& memblock, const std::vector<Op>& ops) {
  memblock.reset();
  Steps run;
  for (const Op& op : ops) {
    Outcome outcome = memblock.run(op);
    run.push_back(Step{std::move(outcome), memblock.snapshot()});
  }
  return run;
}

void expect_identical(const Steps& first, const Steps& again, const std::vector<Op>& ops,
                      std::size_t sequence) {
  ASSERT_EQ(first.size(), again.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    ASSERT_EQ(first[i].outcome, again[i].outcome)
        << "sequence " << sequence << " op " << i << ": " << format_op(ops[i]) << "\nfirst:  "
        << render_outcome(first[i].outcome) << "\nagain:  " << render_outcome(again[i].outcome);
    ASSERT_EQ(first[i].snapshot, again[i].snapshot)
        << "sequence " << sequence << " op " << i << ": " << format_op(ops[i]) << "\nfirst:\n"
        << render_snapshot(first[i].snapshot) << "again:\n" << render_snapshot(again[i].snapshot);
  }
}

class Reset : public ::testing::TestWithParam<const Variant*> {};

// Runs reorder sequences and interleave the other variants: no state leaks
// between runs, nor between variants.
TEST_P(Reset, rerunning_sequences_in_another_order_reproduces_every_outcome_and_snapshot) {
  constexpr std::size_t sequences = 60;
  constexpr std::size_t length = 120;
  RandomOps random(0x6d62667a7a + GetParam()->build().phys_bits + GetParam()->build().numa);
  std::vector<std::vector<Op>> inputs;
  for (std::size_t s = 0; s < sequences; ++s) inputs.push_back(random.sequence(length));

  std::vector<Steps> first(sequences);
  {
    ProductionMemblock memblock(*GetParam());
    for (std::size_t s = 0; s < sequences; ++s) first[s] = run_sequence(memblock, inputs[s]);
  }

  std::vector<std::size_t> order(sequences);
  for (std::size_t s = 0; s < sequences; ++s) order[s] = s;
  std::shuffle(order.begin(), order.end(), std::mt19937_64{42});

  for (std::size_t s : order) {
    // Another variant in between: each variant's state is its own.
    for (const Variant& other : all_variants())
      if (&other != GetParam()) {
        ProductionMemblock neighbour(other);
        run_sequence(neighbour, inputs[(s + 1) % sequences]);
      }
    ProductionMemblock memblock(*GetParam());
    Steps again = run_sequence(memblock, inputs[s]);
    expect_identical(first[s], again, inputs[s], s);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// The random sequences reach the states that reset must undo; a reset test
// over sequences that never double an array or set a switch would prove little.
TEST_P(Reset, random_sequences_reach_the_state_reset_must_undo) {
  RandomOps random(7);
  bool doubled = false, resize = false, bottom_up = false, limited = false, mirror = false,
       discarded = false;
  ProductionMemblock memblock(*GetParam());
  for (int s = 0; s < 60; ++s) {
    memblock.reset();
    for (const Op& op : random.sequence(120)) {
      memblock.run(op);
      Snapshot snap = memblock.snapshot();
      doubled = doubled || !snap.reserved.in_static_array || !snap.memory.in_static_array;
      resize = resize || snap.can_resize;
      bottom_up = bottom_up || snap.bottom_up;
      limited = limited || snap.current_limit != GetParam()->build().phys_addr_max();
      mirror = mirror || snap.has_some_mirror;
      discarded = discarded || snap.discarded;
    }
  }
  EXPECT_TRUE(doubled);
  EXPECT_TRUE(resize);
  EXPECT_TRUE(bottom_up);
  EXPECT_TRUE(limited);
  EXPECT_TRUE(mirror);
  EXPECT_TRUE(discarded);
}

// After reset the state equals a never-used memblock's, field for field.
TEST_P(Reset, reset_gives_the_state_of_a_fresh_boot) {
  Snapshot fresh;
  {
    ProductionMemblock memblock(*GetParam());
    fresh = memblock.snapshot();
  }
  ProductionMemblock memblock(*GetParam());
  RandomOps random(99);
  for (const Op& op : random.sequence(300)) memblock.run(op);
  memblock.reset();
  EXPECT_EQ(memblock.snapshot(), fresh) << render_snapshot(memblock.snapshot());
}

MBFUZZ_EVERY_VARIANT(Reset);

}  // namespace
}  // namespace mbfuzz::testing
