// Boot layouts as traces: the trace's expectations, the memblock=debug log
// reader and the e820 reader. Expected ops come from the kernel's printk
// formats and boot code (mm/memblock.c, arch/x86/kernel/e820.c, setup.c).
#include <gtest/gtest.h>

#include "core/boot/e820.hpp"
#include "core/boot/log.hpp"
#include "core/expect.hpp"
#include "core/production.hpp"
#include "core/render.hpp"
#include "core/trace.hpp"
#include "core/variant.hpp"

namespace mbfuzz::testing {
namespace {

const Build& numa64() { return find_variant("numa64")->build(); }

TEST(TraceExpectations, results_and_dumps_round_trip) {
  const char* text =
      "# header line\n"
      "add 0x100000 0x1000000\n"
      "phys_alloc 0x1000 0x1000 => 0x10ff000  # top-down\n"
      "expect reserved size=0x1000 [0x10ff000-0x10fffff] nid=0 flags=NOMAP\n";
  Trace trace = parse_trace(text, "t.trace");
  ASSERT_EQ(trace.ops.size(), 2u);
  EXPECT_EQ(trace.header, std::vector<std::string>{"header line"});
  EXPECT_EQ(trace.results.at(1), 0x10ff000u);
  EXPECT_EQ(trace.comments.at(1), "top-down");
  ASSERT_EQ(trace.expected_arrays.size(), 1u);
  const ExpectedArray& a = trace.expected_arrays[0];
  EXPECT_EQ(a.after, 2u);
  EXPECT_EQ(a.type, RegionType::reserved);
  EXPECT_EQ(a.total_size, Phys{0x1000});
  ASSERT_EQ(a.regions.size(), 1u);
  EXPECT_EQ(a.regions[0].size, 0x1000u);
  EXPECT_EQ(a.regions[0].nid, 0);
  EXPECT_EQ(a.regions[0].flags.bits, Flags::nomap);
  Trace again = parse_trace(format_trace(trace), "t.trace");
  EXPECT_EQ(again.ops, trace.ops);
  EXPECT_EQ(again.results, trace.results);
  EXPECT_EQ(again.comments, trace.comments);
  EXPECT_EQ(again.expected_arrays.size(), 1u);
  EXPECT_EQ(again.expected_arrays[0].regions, a.regions);
}

TEST(TraceExpectations, an_empty_region_prints_as_the_kernel_prints_its_dummy) {
  Trace trace = parse_trace("expect memory [0x0-0xffffffffffffffff]\n", "t");
  EXPECT_EQ(trace.expected_arrays.at(0).regions.at(0).size, 0u);
}

TEST(TraceExpectations, malformed_expectations_are_located) {
  auto error_of = [](const char* text) {
    try {
      parse_trace(text, "t.trace");
    } catch (const TraceError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of("phys_alloc 1 1 =>\n"),
            "t.trace:1:16: '=>' is followed by exactly one value, the expected address (0: failed)");
  EXPECT_EQ(error_of("expect memory [0x10-zz]\n"), "t.trace:1:21: expected a number, got 'zz'");
  EXPECT_EQ(error_of("expect memory nid=0\n"), "t.trace:1:15: nid= and flags= follow the region they describe");
  EXPECT_EQ(error_of("expect memory [0x0-0xfff] nid=1 nid=2\n"), "t.trace:1:33: nid given twice for one region");
}

TEST(ExpectationCheck, every_mismatch_is_reported) {
  // Top-down: a 4 KiB allocation lands in the last page of memory, not 0x100000;
  // and the dump expects the wrong reservation and a node that was never set.
  Trace trace = parse_trace(
      "add 0x100000 0x100000\n"
      "phys_alloc 0x1000 0x1000 => 0x100000\n"
      "phys_alloc 0x1000 0x1000 => 0x1fe000\n"
      "expect reserved [0x1fe000-0x1fffff] nid=0\n",
      "t.trace");
  ExpectationReport report = check_expectations(trace, *find_variant("numa64"));
  EXPECT_EQ(report.results_checked, 2u);
  EXPECT_EQ(report.arrays_checked, 1u);
  ASSERT_EQ(report.mismatches.size(), 2u);
  EXPECT_EQ(report.mismatches[0].line, 2);
  EXPECT_EQ(report.mismatches[0].actual, "0x1ff000");
  EXPECT_EQ(report.mismatches[1].what, "reserved dump");
  EXPECT_EQ(report.mismatches[1].actual, "expect reserved [0x1fe000-0x1fffff]");
}

// Lines as 6.1 prints them (memblock_dbg formats of mm/memblock.c).
constexpr const char* small_log =
    "[    0.000000] Linux version 6.1.0\n"
    "[    0.010000] memblock_reserve: [0x0000000000000000-0x000000000000ffff] setup_arch+0x1/0x2\n"
    "[    0.020000] memblock_add: [0x0000000000100000-0x000000001fffffff] e820__memblock_setup+0x65/0x7d\n"
    "[    0.028052] MEMBLOCK configuration:\n"
    "[    0.028060]  memory size = 0x000000001ff00000 reserved size = 0x0000000000020000\n"
    "[    0.028080]  memory.cnt  = 0x1\n"
    "[    0.028119]  memory[0x0]\t[0x0000000000100000-0x000000001fffffff], 0x000000001ff00000 bytes flags: 0x0\n"
    "[    0.028173]  reserved.cnt  = 0x2\n"
    "[    0.028178]  reserved[0x0]\t[0x0000000000000000-0x000000000000ffff], 0x0000000000010000 bytes flags: 0x0\n"
    "[    0.028185]  reserved[0x1]\t[0x0000000001000000-0x000000000100ffff], 0x0000000000010000 bytes flags: 0x0\n"
    "[    0.030000] memblock_alloc_try_nid: 4096 bytes align=0x40 nid=-1 from=0x0000000000000000 "
    "max_addr=0x0000000000000000 sparse_init+0x9f/0x23c\n"
    "[    0.030001] memblock_reserve: [0x000000001ffff000-0x000000001fffffff] memblock_alloc_range_nid+0xb0/0x13d\n"
    "[    0.040000] memblock_phys_alloc_range: 8192 bytes align=0x1000 from=0x0000000000000000 "
    "max_addr=0x0000000000001000 foo+0x1/0x2\n"
    "[    0.050000] memblock_phys_free: [0x000000001ffff000-0x000000001fffffff] bar+0x1/0x2\n";

TEST(LogReader, logged_calls_become_ops_with_their_results) {
  Trace trace = boot::log_trace(small_log, "boot.log", numa64());
  // The kernel image (0x1000000) was reserved before memblock=debug took
  // effect: the first dump shows it, so it is reserved first of all; the
  // e820 adds are framed by unlogged memblock_allow_resize() and
  // memblock_trim_memory(PAGE_SIZE).
  std::vector<Op> expected{
      Reserve{0x1000000, 0x10000},
      Reserve{0, 0x10000},
      AllowResize{},
      Add{0x100000, 0x1ff00000},
      TrimMemory{0x1000},
      AllocTryNid{.size = 4096, .align = 0x40, .min = 0, .max = Limit{0}, .nid = Nid{-1}},
      PhysAllocRange{.size = 8192, .align = 0x1000, .start = 0, .end = Limit{0x1000}},
      PhysFree{0x1ffff000, 0x1000},
  };
  EXPECT_EQ(trace.ops, expected);
  EXPECT_EQ(trace.results.at(5), 0x1ffff000u);
  EXPECT_EQ(trace.results.at(6), 0u);  // no reservation followed: it failed
  EXPECT_EQ(trace.results.size(), 2u);
  ASSERT_EQ(trace.expected_arrays.size(), 2u);
  EXPECT_EQ(trace.expected_arrays[0].after, 5u);
  EXPECT_EQ(trace.expected_arrays[1].regions.size(), 2u);
  EXPECT_EQ(trace.lines.at(3), 3);  // log line of the add
}

// The dump the executor predicts (render_memblock_dump) is one the log
// reader reads back to the same arrays, on every variant's width and node
// rules; that the kernel itself prints exactly these lines is what every
// differential check compares.
TEST(MemblockDump, the_rendered_dump_reads_back_to_the_same_arrays) {
  for (const Variant& variant : all_variants()) {
    ProductionMemblock memblock(variant);
    const std::vector<Op> ops{Add{.base = 0, .size = 0x1000},
                              AddNode{.base = 0x100000, .size = 0x200000, .nid = Nid{1}, .flags = Flags{Flags::hotplug}},
                              Reserve{.base = 0x1800, .size = 0x100}};
    for (const Op& op : ops) memblock.run(op);
    Snapshot state = memblock.snapshot();
    std::vector<ExpectedArray> read = boot::read_dump(render_memblock_dump(state, variant.build()), "rendered");
    ASSERT_EQ(read.size(), 2u) << variant.name();
    EXPECT_EQ(read[0].regions, as_dumped(state.memory, RegionType::memory, variant.build()).regions) << variant.name();
    EXPECT_EQ(read[1].regions, as_dumped(state.reserved, RegionType::reserved, variant.build()).regions) << variant.name();
    EXPECT_EQ(read[0].total_size, state.memory.total_size);
    EXPECT_EQ(memblock.own_dump(), render_memblock_dump(state, variant.build())) << variant.name();
  }
}

TEST(LogReader, a_log_without_memblock_lines_is_an_error) {
  EXPECT_THROW(boot::log_trace("[ 0.0] Linux version 6.1\n", "x.log", numa64()), boot::BootError);
}

TEST(E820Reader, both_formats_and_their_ends) {
  auto map = boot::read_e820(
      "BIOS-e820: 0000000000000000 - 000000000009f800 (usable)\n"
      "[    0.000000] BIOS-e820: [mem 0x0000000000100000-0x00000000bfffffff] usable\n"
      "BIOS-e820: [mem 0x00000000c0000000-0x00000000c0000fff] ACPI NVS\n"
      "BIOS-e820: [mem 0x0000000100000000-0x000000013fffffff] persistent (type 12)\n",
      "m");
  ASSERT_EQ(map.size(), 4u);
  EXPECT_EQ(map[0].size, 0x9f800u);  // exclusive end
  EXPECT_EQ(map[1].size, 0xbff00000u);  // inclusive end
  EXPECT_EQ(map[2].type, boot::E820Entry::nvs);
  EXPECT_EQ(map[3].type, 12u);
}

TEST(E820Reader, overlapping_entries_are_located) {
  try {
    boot::read_e820("BIOS-e820: [mem 0x0-0xfffff] usable\nBIOS-e820: [mem 0x80000-0x1fffff] reserved\n", "m");
    FAIL();
  } catch (const boot::BootError& e) {
    EXPECT_STREQ(e.what(), "m:2:1: entries overlap or are out of order: give the table the kernel printed (it is sanitized)");
  }
}

TEST(E820Boot, trim_bios_range_and_mem_limit) {
  auto map = boot::read_e820(
      "BIOS-e820: [mem 0x0000000000000000-0x00000000000fffff] usable\n"
      "BIOS-e820: [mem 0x0000000000100000-0x000000003fffffff] usable\n"
      "BIOS-e820: [mem 0x0000000040000000-0x000000004fffffff] soft reserved\n",
      "m");
  boot::E820Options options;
  options.mem_limit = 0x20000000;
  std::vector<Op> ops;
  for (const boot::Step& s : boot::e820_boot(map, options, numa64())) ops.push_back(s.op);
  std::vector<Op> expected{
      Reserve{options.kernel_base, options.kernel_size},
      Reserve{0, 0x10000},
      Reserve{0x9f000, 0x61000},  // the BIOS data area's base memory is capped at 0x9f000
      SetCurrentLimit{Limit{0x100000}},
      AllowResize{},
      Add{0x1000, 0x9f000},        // the first page and 640K-1M are not RAM
      Add{0x100000, 0x1ff00000},   // mem=512M
      Reserve{0x40000000, 0x10000000},
      TrimMemory{0x1000},
  };
  EXPECT_EQ(ops, expected);
}

}  // namespace
}  // namespace mbfuzz::testing
