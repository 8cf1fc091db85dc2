// The text trace: parse and print are inverse, both forms of fields are
// accepted, and every malformed input is reported at file:line:col.
#include <gtest/gtest.h>

#include "core/tests/random_ops.hpp"
#include "core/trace.hpp"

namespace mbfuzz::testing {
namespace {

Op parse_one(std::string_view line) {
  Trace t = parse_trace(line, "t.trace");
  EXPECT_EQ(t.ops.size(), 1u);
  return t.ops.at(0);
}

// parse(print(op)) == op for ops of every kind with values from every pool.
TEST(Trace, printing_then_parsing_gives_every_op_back) {
  RandomOps random(1);
  for (int i = 0; i < 20000; ++i) {
    Op op = random.any();
    std::string text = format_op(op);
    Trace parsed = parse_trace(text, "round-trip");
    ASSERT_EQ(parsed.ops.size(), 1u) << text;
    ASSERT_EQ(parsed.ops[0], op) << text;
  }
}

// print(parse(text)) == text for canonical text: the printer is canonical.
TEST(Trace, canonical_text_prints_back_unchanged) {
  const std::string text =
      "add 0x100000 0x1000000\n"
      "add_node base=0 size=0x1000 nid=1 flags=HOTPLUG|MIRROR\n"
      "alloc_try_nid size=0x100 align=0x40 min=0 max=ANYWHERE nid=NUMA_NO_NODE\n"
      "free NULL 0x10\n"
      "set_node base=0 size=0x1000 type=reserved nid=2\n"
      "free_ranges nid=0 flags=NONE reverse=true\n"
      "allow_resize\n";
  EXPECT_EQ(format_trace(parse_trace(text, "t").ops), text);
}

TEST(Trace, fields_may_be_positional_or_named_in_any_order) {
  EXPECT_EQ(parse_one("phys_alloc_range 0x1000 0x10 0 ACCESSIBLE"),
            Op(PhysAllocRange{.size = 0x1000, .align = 0x10, .start = 0, .end = Limit{0}}));
  EXPECT_EQ(parse_one("phys_alloc_range end=ACCESSIBLE start=0 align=0x10 size=0x1000"),
            Op(PhysAllocRange{.size = 0x1000, .align = 0x10, .start = 0, .end = Limit{0}}));
}

TEST(Trace, numbers_take_binary_suffixes_and_symbolic_names) {
  EXPECT_EQ(parse_one("add 4K 16M"), Op(Add{.base = 4096, .size = 16 << 20}));
  EXPECT_EQ(parse_one("add 0x1G 2T"), Op(Add{.base = Phys{1} << 30, .size = Phys{2} << 40}));
  EXPECT_EQ(parse_one("remove 0 PHYS_ADDR_MAX"), Op(Remove{.base = 0, .size = ~Phys{0}}));
  EXPECT_EQ(parse_one("set_current_limit NOLEAKTRACE"), Op(SetCurrentLimit{Limit{1}}));
  EXPECT_EQ(parse_one("mark_mirror 12 34"), Op(MarkMirror{.base = 12, .size = 34}));
  EXPECT_EQ(parse_one("slab_available on"), Op(SetSlabAvailable{.on = true}));
}

TEST(Trace, comments_and_blank_lines_are_ignored_and_lines_are_remembered) {
  Trace t = parse_trace("# header\n\n  add 0 4K   # trailing\n\treserve 0 1\n", "t");
  ASSERT_EQ(t.ops.size(), 2u);
  EXPECT_EQ(t.lines, (std::vector<int>{3, 4}));
}

struct BadLine {
  std::string text;
  int line;
  int column;
  std::string message;
};

void PrintTo(const BadLine& bad, std::ostream* os) { *os << '"' << bad.text << '"'; }

class TraceErrors : public ::testing::TestWithParam<BadLine> {};

// Each error names the place of the offending token and says what was wrong.
TEST_P(TraceErrors, malformed_input_is_reported_at_file_line_column) {
  const BadLine& bad = GetParam();
  try {
    parse_trace(bad.text, "bad.trace");
    FAIL() << "accepted: " << bad.text;
  } catch (const TraceError& e) {
    EXPECT_EQ(e.file(), "bad.trace");
    EXPECT_EQ(e.line(), bad.line) << e.what();
    EXPECT_EQ(e.column(), bad.column) << e.what();
    EXPECT_NE(e.message().find(bad.message), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("bad.trace:" + std::to_string(bad.line) + ":" +
                                              std::to_string(bad.column) + ": ",
                                          0),
              0u)
        << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    , TraceErrors,
    ::testing::Values(BadLine{"add 0 1\nadd_mem 0 1\n", 2, 1, "unknown operation 'add_mem'"},
                      BadLine{"add 0x1000 zz", 1, 12, "expected a number, got 'zz'"},
                      BadLine{"add 0x1000", 1, 4, "needs field 'size'"},
                      BadLine{"add 1 2 3", 1, 9, "takes 2 fields"},
                      BadLine{"add base=1 2", 1, 12, "cannot be mixed"},
                      BadLine{"add base=1 bsae=2", 1, 12, "has no field 'bsae'"},
                      BadLine{"add base=1 base=2", 1, 17, "given twice"},
                      BadLine{"add base= size=1", 1, 10, "has no value"},
                      BadLine{"add 0x10000000000000000 1", 1, 5, "does not fit in 64 bits"},
                      BadLine{"add 0xfffffffffffffffK 1", 1, 5, "does not fit in 64 bits"},
                      BadLine{"add_node 0 1 NUMA 0", 1, 14, "expected a node id"},
                      BadLine{"add_node 0 1 0 HOTPLUG|", 1, 16, "flag expected after '|'"},
                      BadLine{"add_node 0 1 0 HOTPLUG|NOMAPP", 1, 16, "unknown flag 'NOMAPP'"},
                      BadLine{"set_bottom_up yes", 1, 15, "expected true or false"},
                      BadLine{"set_node 0 1 memroy 0", 1, 14, "expected memory or reserved"},
                      BadLine{"  \n\n   add -1 1", 3, 8, "expected a number"},
                      BadLine{std::string("add 0 1\x00", 8), 1, 8, "NUL byte"}),
    [](const ::testing::TestParamInfo<BadLine>& param) { return "case_" + std::to_string(param.index); });

TEST(Trace, unreadable_file_names_the_path) {
  try {
    read_trace("/nonexistent/x.trace");
    FAIL();
  } catch (const TraceError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.trace"), std::string::npos);
  }
}

}  // namespace
}  // namespace mbfuzz::testing
