#include "core/tests/memblock_fixture.hpp"

namespace mbfuzz::testing {
namespace {

using Smoke = MemblockTest;

// A fresh memblock holds one empty dummy region in each array (6.1: cnt == 1).
TEST_P(Smoke, fresh_memblock_has_one_empty_dummy_region_per_array) {
  Snapshot s = state();
  EXPECT_EQ(s.memory.cnt, 1u);
  EXPECT_EQ(s.memory.regions[0].size, 0u);
  EXPECT_EQ(s.memory.total_size, 0u);
  EXPECT_EQ(s.memory.max, build().init_regions);
  EXPECT_EQ(s.reserved.cnt, 1u);
  EXPECT_EQ(s.current_limit, build().phys_addr_max());  // MEMBLOCK_ALLOC_ANYWHERE
  EXPECT_FALSE(s.bottom_up);
}

TEST_P(Smoke, add_to_empty_memory_makes_one_region) {
  EXPECT_EQ(err(Add{.base = 1 * MiB, .size = 16 * MiB}), 0);
  EXPECT_EQ(memory_regions(), std::vector{region(1 * MiB, 16 * MiB)});
  EXPECT_EQ(state().memory.total_size, 16 * MiB);
}

MBFUZZ_EVERY_VARIANT(Smoke);

}  // namespace
}  // namespace mbfuzz::testing
