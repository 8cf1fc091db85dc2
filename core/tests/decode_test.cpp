// The byte decoder (core/decode.hpp): total, deterministic, inverse to the
// encoder, and able to reach the states fuzzing is for.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "core/decode.hpp"
#include "core/production.hpp"
#include "core/tests/random_ops.hpp"
#include "core/trace.hpp"
#include "core/variant.hpp"

namespace mbfuzz {
namespace {

std::vector<std::uint8_t> random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::vector<std::uint8_t> bytes(n);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
  return bytes;
}

TEST(Decode, encoding_a_sequence_decodes_to_the_same_ops) {
  for (std::uint64_t seed = 0; seed < 500; ++seed) {
    std::vector<Op> ops = testing::RandomOps(seed).sequence(60);
    const std::vector<Op> decoded = decode_ops(encode_ops(ops));
    ASSERT_EQ(decoded, ops) << "seed " << seed << "\n" << format_trace(ops);
  }
}

TEST(Decode, every_byte_string_decodes_the_same_way_every_time) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 2000; ++i) {
    const auto bytes = random_bytes(rng, rng() % 3000);
    const std::vector<Op> ops = decode_ops(bytes);
    EXPECT_LE(ops.size(), max_decoded_ops);
    EXPECT_EQ(decode_ops(bytes), ops);
    // Whatever it decodes to can be written as a trace and read back.
    EXPECT_EQ(parse_trace(format_trace(ops), "decoded").ops, ops);
  }
  EXPECT_TRUE(decode_ops({}).empty());
}

TEST(Decode, every_op_kind_can_be_decoded_from_some_selector_of_its_vocabulary) {
  std::set<std::size_t> memblock, bootmem;
  for (int selector = 0; selector < 256; ++selector) {
    const std::uint8_t byte = static_cast<std::uint8_t>(selector);
    for (const Op& op : decode_ops(std::span(&byte, 1))) memblock.insert(op.index());
    for (const Op& op : decode_ops(std::span(&byte, 1), Vocabulary::bootmem)) bootmem.insert(op.index());
  }
  EXPECT_EQ(memblock.size(), memblock_op_kinds);
  EXPECT_EQ(*memblock.rbegin(), memblock_op_kinds - 1);
  EXPECT_EQ(bootmem.size(), std::variant_size_v<Op> - memblock_op_kinds);
  EXPECT_EQ(*bootmem.begin(), memblock_op_kinds);
}

TEST(Decode, values_are_drawn_toward_the_edges) {
  // add with a value "just below 2^64, one page" and one "2^32 - 1".
  const std::uint8_t add = encode_ops(std::vector<Op>{Add{}}).front();
  const std::vector<std::uint8_t> bytes{add, 0x05, 0x01, 0x0c, 0x20};
  const std::vector<Op> ops = decode_ops(bytes);
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0], Op(Add{.base = ~Phys{0} - 4095, .size = 0xffffffff}));
}

TEST(Decode, a_burst_of_adds_fills_the_region_array_past_its_initial_size) {
  // allow_resize, then a burst: 200 adds of two pages, three pages apart
  // (the doubled array, two pages, must fit in one free range).
  std::vector<Op> prefix{AllowResize{}};
  std::vector<std::uint8_t> bytes = encode_ops(prefix);
  const std::vector<std::uint8_t> burst{0xF0, 0x00, 199, 0x02 | (16 << 3), 0x02 | (2 << 3), 0x02 | (3 << 3)};
  bytes.insert(bytes.end(), burst.begin(), burst.end());
  const std::vector<Op> ops = decode_ops(bytes);
  ASSERT_EQ(ops.size(), 201u);
  EXPECT_EQ(ops[1], Op(Add{.base = 16 * 4096, .size = 2 * 4096}));
  EXPECT_EQ(ops[200], Op(Add{.base = (16 + 199 * 3) * 4096, .size = 2 * 4096}));

  ProductionMemblock memblock(default_variant());
  for (const Op& op : ops) memblock.run(op);
  EXPECT_EQ(memblock.snapshot().memory.cnt, 200u);
  EXPECT_FALSE(memblock.snapshot().memory.in_static_array);
}

}  // namespace
}  // namespace mbfuzz
