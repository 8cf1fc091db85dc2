// Device-tree boot: the op sequences Linux 6.1's arm64 early boot makes for
// small hand-written trees (core/tests/dts), run on the production memblock.
//
// Expected sequences follow the kernel's code (drivers/of/fdt.c,
// drivers/of/of_reserved_mem.c, arch/arm64/mm/init.c, lib/sort.c); where an
// allocation's address matters, it is memblock's documented top-down choice.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "core/boot/dtb.hpp"
#include "core/production.hpp"
#include "core/trace.hpp"
#include "core/variant.hpp"

namespace mbfuzz::testing {
namespace {

using boot::BootError;
using boot::DtbOptions;
using boot::Step;

constexpr Phys KiB = 1024;
constexpr Phys MiB = 1024 * KiB;
constexpr Phys GiB = 1024 * MiB;
constexpr Phys all = ~Phys{0};               // ULLONG_MAX, as arm64_memblock_init passes it
constexpr Phys pa_limit = Phys{1} << 48;     // 1ULL << PHYS_MASK_SHIFT
constexpr Phys linear_map = Phys{1} << 47;   // linear_region_size, 48-bit VA
constexpr Phys anywhere = Limit::anywhere;

// Where the tests' bootloader puts things, unless a test says otherwise.
constexpr Phys kernel_base = 0x8020'0000;
constexpr Phys kernel_size = 32 * MiB;
constexpr Phys fdt_base = 0x8f00'0000;

const std::filesystem::path dts_dir = std::filesystem::path(__FILE__).parent_path() / "dts";

// The compiled trees of this run, removed when the program ends.
struct ScratchDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("mbfuzz-dtb-test-" + std::to_string(getpid()));
  ScratchDir() { std::filesystem::create_directories(path); }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

std::filesystem::path scratch_dir() {
  static const ScratchDir dir;
  return dir.path;
}

// Compiles core/tests/dts/<name>.dts with dtc, once per run.
std::filesystem::path dtb(const std::string& name) {
  static std::map<std::string, std::filesystem::path> compiled;
  if (auto it = compiled.find(name); it != compiled.end()) return it->second;
  const auto out = scratch_dir() / (name + ".dtb");
  const std::string cmd = "dtc -q -I dts -O dtb -o '" + out.string() + "' '" + (dts_dir / (name + ".dts")).string() + "'";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("dtc failed: " + cmd);
  return compiled[name] = out;
}

std::vector<std::uint8_t> bytes_of(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The header's totalsize: what setup_machine_fdt reserves.
Phys totalsize(const std::string& name) {
  const auto b = bytes_of(dtb(name));
  return Phys{b.at(4)} << 24 | Phys{b.at(5)} << 16 | Phys{b.at(6)} << 8 | Phys{b.at(7)};
}

std::string text(const std::vector<Op>& ops) {
  std::string out;
  for (const Op& op : ops) out += format_op(op) + "\n";
  return out;
}

std::string text(const std::vector<Step>& steps) {
  std::string out;
  for (const Step& s : steps) out += format_op(s.op) + "\n";
  return out;
}

std::vector<Op> operator+(std::vector<Op> a, const std::vector<Op>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

DtbOptions placed(Phys kernel = kernel_base, Phys fdt = fdt_base) {
  DtbOptions o;
  o.kernel_base = kernel;
  o.fdt_base = fdt;
  o.kernel_size = kernel_size;
  return o;
}

// arm64_memblock_init when nothing is trimmed and there is no mem=: the
// PA-bits and linear-map removals, then the image reserved from _stext
// (_text + 64K) to _end.
std::vector<Op> memblock_init(Phys memstart, Phys kernel = kernel_base) {
  return {Remove{pa_limit, all},
          StartOfDram{},
          EndOfDram{},
          Remove{std::max(memstart + linear_map, kernel + kernel_size), all},
          EndOfDram{},
          Reserve{kernel + 64 * KiB, kernel_size - 64 * KiB}};
}

std::vector<const Variant*> variants_with_64bit_phys() {
  std::vector<const Variant*> out;
  for (const Variant& v : all_variants())
    if (v.build().phys_bits == 64) out.push_back(&v);
  return out;
}

class DtbBoot : public ::testing::TestWithParam<const Variant*> {
 protected:
  void SetUp() override { memblock_ = std::make_unique<ProductionMemblock>(*GetParam()); }
  void TearDown() override { memblock_.reset(); }

  std::vector<Step> boot(const std::string& name, const DtbOptions& options = placed()) {
    return boot::dtb_boot_file(dtb(name), options, GetParam()->build(), run_);
  }
  Snapshot state() const { return memblock_->snapshot(); }

  std::unique_ptr<ProductionMemblock> memblock_;
  boot::Run run_ = [this](const Op& op) { return memblock_->run(op); };
};

// The blob is reserved before anything is added; each memory entry is
// page-trimmed (base up, size down), ignored when under a page, skipped when
// empty; disabled nodes and non-memory nodes add nothing; linux,usable-memory
// replaces reg.
TEST_P(DtbBoot, memory_nodes_are_page_trimmed_after_the_blob_is_reserved) {
  const auto steps = boot("memory_alignment");
  EXPECT_EQ(text(steps), text(std::vector<Op>{Reserve{fdt_base, totalsize("memory_alignment")},
                                              Add{0x8000'1000, 0x0fff'f000},
                                              Add{0xe000'0000, 0x1000},
                                              Add{0xf210'0000, 0x10'0000}} +
                              memblock_init(0x8000'0000)));
  EXPECT_EQ(steps[1].why, "memory node /memory@80000100 reg[0]");
  EXPECT_EQ(steps[2].why, "memory node /memory@c0000000 reg[2]");
  EXPECT_EQ(steps[3].why, "memory node /memory@f2000000 linux,usable-memory[0]");
}

// mark_hotplug covers each entry as written, even one whose page-trimmed
// add is empty.
TEST_P(DtbBoot, hotpluggable_node_marks_each_entry_as_written) {
  const auto steps = boot("hotplug");
  EXPECT_EQ(text(steps), text(std::vector<Op>{Reserve{fdt_base, totalsize("hotplug")},
                                              Add{0x8000'0000, 1 * GiB},
                                              Add{0x1'0000'0000, 1 * GiB},
                                              MarkHotplug{0x1'0000'0000, 1 * GiB},
                                              Add{0x2'0000'1000, 0},
                                              MarkHotplug{0x2'0000'0800, 0x1000}} +
                              memblock_init(0x8000'0000)));
  const auto& regions = state().memory.regions;
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_EQ(regions[0].flags, Flags::none);
  EXPECT_EQ(regions[1].flags, Flags::hotplug);
}

// A kdump kernel: cap to the first range, add the second, never read a
// third; the ELF core header is reserved unless already reserved.
TEST_P(DtbBoot, usable_memory_range_caps_then_adds_and_elfcorehdr_is_reserved) {
  const Phys kernel = 0xa020'0000;
  const auto steps = boot("usable_memory_range", placed(kernel, 0xa400'0000));
  EXPECT_EQ(text(steps), text(std::vector<Op>{Reserve{0xa400'0000, totalsize("usable_memory_range")},
                                              Add{0x8000'0000, 2 * GiB},
                                              CapMemoryRange{0xa000'0000, 0x1000'0000},
                                              Add{0xf000'0000, 0x100'0000}} +
                              memblock_init(0x8000'0000, kernel) +
                              std::vector<Op>{IsRegionReserved{0xa800'0000, 0x1'0000},
                                              Reserve{0xa800'0000, 0x1'0000}}));
}

TEST_P(DtbBoot, memreserve_entries_are_reserved_after_the_kernel_image) {
  const auto steps = boot("memreserve");
  EXPECT_EQ(text(steps), text(std::vector<Op>{Reserve{fdt_base, totalsize("memreserve")},
                                              Add{0x8000'0000, 1 * GiB}} +
                              memblock_init(0x8000'0000) +
                              std::vector<Op>{Reserve{0x8000'0000, 0x1'0000}, Reserve{0x8100'0000, 0x2000}}));
}

// no-map asks whether the range is memory (and then whether it is already
// reserved) before marking; other static children reserve each nonzero
// entry; disabled children do nothing.
TEST_P(DtbBoot, static_reserved_memory_marks_no_map_and_reserves_the_rest) {
  const auto steps = boot("reserved_static");
  EXPECT_EQ(text(steps), text(std::vector<Op>{Reserve{fdt_base, totalsize("reserved_static")},
                                              Add{0x8000'0000, 1 * GiB}} +
                              memblock_init(0x8000'0000) +
                              std::vector<Op>{OverlapsRegion{RegionType::memory, 0x8000'0000, 0x20'0000},
                                              IsRegionReserved{0x8000'0000, 0x20'0000},
                                              MarkNomap{0x8000'0000, 0x20'0000},
                                              Reserve{0x9000'0000, 0x10'0000},
                                              Reserve{0x9040'0000, 0x1000},
                                              OverlapsRegion{RegionType::memory, 0x1000'0000, 0x1000},
                                              MarkNomap{0x1000'0000, 0x1000}}));
}

// -EBUSY: memory that is already reserved (by /memreserve/, by the kernel
// image) is not marked no-map.
TEST_P(DtbBoot, no_map_over_reserved_memory_is_left_alone) {
  const auto steps = boot("reserved_busy");
  EXPECT_EQ(text(steps), text(std::vector<Op>{Reserve{fdt_base, totalsize("reserved_busy")},
                                              Add{0x8000'0000, 1 * GiB}} +
                              memblock_init(0x8000'0000) +
                              std::vector<Op>{Reserve{0x8400'0000, 0x10'0000},
                                              OverlapsRegion{RegionType::memory, 0x8400'0000, 0x10'0000},
                                              IsRegionReserved{0x8400'0000, 0x10'0000},
                                              OverlapsRegion{RegionType::memory, 0x8030'0000, 0x1000},
                                              IsRegionReserved{0x8030'0000, 0x1000},
                                              OverlapsRegion{RegionType::memory, 0x8800'0000, 0x10'0000},
                                              IsRegionReserved{0x8800'0000, 0x10'0000},
                                              MarkNomap{0x8800'0000, 0x10'0000}}));
  for (const Region& r : state().memory.regions) {
    if (r.base <= 0x8400'0000 && 0x8400'0000 < r.end()) {
      EXPECT_EQ(r.flags, Flags::none);
    }
  }
}

TEST_P(DtbBoot, reserved_memory_without_ranges_is_ignored) {
  const auto steps = boot("reserved_unsupported");
  EXPECT_EQ(text(steps), text(std::vector<Op>{Reserve{fdt_base, totalsize("reserved_unsupported")},
                                              Add{0x8000'0000, 1 * GiB}} +
                              memblock_init(0x8000'0000)));
}

// Three equal sort keys come out of lib/sort.c's heapsort as the second,
// third and first node. alignment 0 means SMP_CACHE_BYTES; a size of the
// wrong cell count skips the node; no-map marks what was allocated.
TEST_P(DtbBoot, dynamic_nodes_allocate_in_heapsort_order_with_their_alignment) {
  const auto steps = boot("reserved_dynamic");
  const Phys top = 0xc000'0000;
  const Phys unaligned = top - 0x1000;                            // 0xbffff000
  const Phys aligned = (unaligned - 0x40'0000) & ~Phys{0xf'ffff};  // 0xbfb00000
  EXPECT_EQ(text(steps), text(std::vector<Op>{Reserve{fdt_base, totalsize("reserved_dynamic")},
                                              Add{0x8000'0000, 1 * GiB}} +
                              memblock_init(0x8000'0000) +
                              std::vector<Op>{PhysAllocRange{0x1000, 64, 0, Limit{anywhere}},
                                              PhysAllocRange{0x40'0000, 0x10'0000, 0, Limit{anywhere}},
                                              MarkNomap{aligned, 0x40'0000}}));
  EXPECT_EQ(steps.back().why, "/reserved-memory/aligned: size, no alloc-ranges no-map");
  const auto& reserved = state().reserved.regions;
  ASSERT_GE(reserved.size(), 2u);
  const int nid = reserved.back().nid;
  EXPECT_EQ(reserved[reserved.size() - 2], (Region{aligned, 0x40'0000, Flags::none, nid}));
  EXPECT_EQ(reserved.back(), (Region{unaligned, 0x1000, Flags::none, nid}));
}

// CMA raises the alignment to PAGE_SIZE << pageblock_order (2 MiB) and
// checks the pool is reserved; a pool not a multiple of 2 MiB fails both
// shared-dma-pool hooks and is freed, whether allocated or static.
TEST_P(DtbBoot, cma_pools_are_2mib_aligned_and_misfits_are_freed) {
  const auto steps = boot("reserved_cma");
  const Phys cma = 0xbf00'0000;  // 16 MiB under the top of RAM
  const Phys odd = 0xbee0'0000;  // 2 MiB-aligned, 1 MiB under cma
  EXPECT_EQ(text(steps), text(std::vector<Op>{Reserve{fdt_base, totalsize("reserved_cma")},
                                              Add{0x8000'0000, 1 * GiB}} +
                              memblock_init(0x8000'0000) +
                              std::vector<Op>{Reserve{0x9010'0000, 0x10'0000},
                                              PhysAllocRange{16 * MiB, 2 * MiB, 0, Limit{anywhere}},
                                              IsRegionReserved{cma, 16 * MiB},
                                              PhysAllocRange{1 * MiB, 2 * MiB, 0, Limit{anywhere}},
                                              PhysFree{odd, 1 * MiB},
                                              PhysFree{0x9010'0000, 0x10'0000}}));
}

// The first alloc-range is full (phys_alloc_range returns 0), so the
// second is tried.
TEST_P(DtbBoot, alloc_ranges_fall_through_to_the_next_range_when_one_is_full) {
  const auto steps = boot("reserved_alloc_ranges");
  EXPECT_EQ(text(steps), text(std::vector<Op>{Reserve{fdt_base, totalsize("reserved_alloc_ranges")},
                                              Add{0x8000'0000, 1 * GiB}} +
                              memblock_init(0x8000'0000) +
                              std::vector<Op>{Reserve{0x9000'0000, 0x100'0000},
                                              PhysAllocRange{1 * MiB, 64, 0x9000'0000, Limit{0x9100'0000}},
                                              PhysAllocRange{1 * MiB, 64, 0xa000'0000, Limit{0xa100'0000}},
                                              MarkNomap{0xa0f0'0000, 1 * MiB}}));
}

// A static node whose first entry is empty is saved as (0, 0), which
// fdt_init_reserved_mem takes for a dynamic node.
TEST_P(DtbBoot, static_node_with_an_empty_first_entry_is_allocated_by_size) {
  const auto steps = boot("reserved_zero_reg");
  EXPECT_EQ(text(steps), text(std::vector<Op>{Reserve{fdt_base, totalsize("reserved_zero_reg")},
                                              Add{0x8000'0000, 1 * GiB}} +
                              memblock_init(0x8000'0000) +
                              std::vector<Op>{PhysAllocRange{0x2000, 64, 0, Limit{anywhere}}}));
}

// mem= from bootargs (the last before "--", masked to pages): remove above
// the limit, then add the kernel image back before reserving it.
TEST_P(DtbBoot, mem_in_bootargs_limits_memory_and_adds_the_kernel_back) {
  const auto steps = boot("mem_bootargs");
  auto init = memblock_init(0x8000'0000);
  init.insert(init.end() - 1, {MemLimitRemoveMap{0x1000'0000}, Add{kernel_base, kernel_size}});
  EXPECT_EQ(text(steps), text(std::vector<Op>{Reserve{fdt_base, totalsize("mem_bootargs")},
                                              Add{0x8000'0000, 2 * GiB}} +
                              init));
}

TEST_P(DtbBoot, mem_option_wins_over_bootargs) {
  DtbOptions options = placed(0xa000'0000);
  options.mem_limit = 0x2000'0123;
  const auto steps = boot("mem_bootargs", options);
  auto init = memblock_init(0x8000'0000, 0xa000'0000);
  init.insert(init.end() - 1, {MemLimitRemoveMap{0x2000'0000}, Add{0xa000'0000, kernel_size}});
  EXPECT_EQ(text(steps), text(std::vector<Op>{Reserve{fdt_base, totalsize("mem_bootargs")},
                                              Add{0x8000'0000, 2 * GiB}} +
                              init));
  // The image lies above the limit and is memory again.
  EXPECT_EQ(state().memory.regions.back().end(), 0xa000'0000 + kernel_size);
}

// Memory at or above 2^48 goes first, then whatever lies 2^47 or more
// above memstart_addr (start of DRAM rounded down to 1 GiB).
TEST_P(DtbBoot, memory_beyond_pa_bits_and_the_linear_map_is_removed) {
  const auto steps = boot("beyond_linear_map");
  EXPECT_EQ(text(steps), text(std::vector<Op>{Reserve{fdt_base, totalsize("beyond_linear_map")},
                                              Add{0x8000'0000, 1 * GiB},
                                              Add{0x9000'0000'0000, 1 * GiB},
                                              Add{0x1'0000'0000'0000, 1 * GiB}} +
                              memblock_init(0x8000'0000)));
  const auto& regions = state().memory.regions;
  ASSERT_EQ(regions.size(), 1u);
  EXPECT_EQ(regions[0].base, 0x8000'0000u);
}

// A kernel loaded above the linear map keeps its memory: the removal starts
// at _end, memstart_addr moves up and everything below it goes.
TEST_P(DtbBoot, linear_map_follows_a_kernel_loaded_high) {
  const Phys kernel = 0x9000'0000'0000;
  const auto steps = boot("beyond_linear_map", placed(kernel));
  const Phys kernel_end = kernel + kernel_size;
  const Phys memstart = 0x1000'4000'0000;  // round_up(kernel_end - 2^47, 1 GiB)
  EXPECT_EQ(text(steps), text(std::vector<Op>{Reserve{fdt_base, totalsize("beyond_linear_map")},
                                              Add{0x8000'0000, 1 * GiB},
                                              Add{0x9000'0000'0000, 1 * GiB},
                                              Add{0x1'0000'0000'0000, 1 * GiB},
                                              Remove{pa_limit, all},
                                              StartOfDram{},
                                              EndOfDram{},
                                              Remove{kernel_end, all},
                                              EndOfDram{},
                                              EndOfDram{},
                                              Remove{0, memstart},
                                              Reserve{kernel + 64 * KiB, kernel_size - 64 * KiB}}));
  const auto& regions = state().memory.regions;
  ASSERT_EQ(regions.size(), 1u);
  EXPECT_EQ(regions[0], (Region{kernel, kernel_size, Flags::none, regions[0].nid}));
}

// Defaults: the kernel at the first free 2 MiB boundary of RAM, the blob
// on the highest page of the lowest bank that holds it.
TEST_P(DtbBoot, default_placement_avoids_reserved_ranges) {
  DtbOptions options;
  options.kernel_size = kernel_size;
  const auto steps = boot("default_placement", options);
  const Phys size = totalsize("default_placement");
  ASSERT_GE(steps.size(), 2u);
  EXPECT_EQ(format_op(steps.front().op), format_op(Reserve{(0xc000'0000 - size) & ~Phys{0xfff}, size}));
  EXPECT_EQ(text(std::vector<Step>(steps.begin() + 1, steps.end())),
            text(std::vector<Op>{Add{0x8000'0000, 1 * GiB}} + memblock_init(0x8000'0000, 0x8020'0000) +
                 std::vector<Op>{OverlapsRegion{RegionType::memory, 0x8000'0000, 0x10'0000},
                                 IsRegionReserved{0x8000'0000, 0x10'0000},
                                 MarkNomap{0x8000'0000, 0x10'0000}}));
}

// ---- malformed input ---------------------------------------------------------

std::string boot_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const BootError& e) {
    return e.what();
  }
  return "no BootError";
}

TEST_P(DtbBoot, truncated_blob_is_a_located_error) {
  auto bytes = bytes_of(dtb("memreserve"));
  bytes.resize(bytes.size() / 2);
  const std::string what = boot_error([&] {
    boot::dtb_boot(bytes, "half.dtb", placed(), GetParam()->build(), run_);
  });
  EXPECT_NE(what.find("half.dtb:offset "), std::string::npos) << what;
  EXPECT_NE(what.find("truncated"), std::string::npos) << what;
  EXPECT_TRUE(state().reserved.regions.front().size == 0) << "nothing may run before the check";
}

TEST_P(DtbBoot, text_file_is_not_a_device_tree_blob) {
  const auto path = dts_dir / "memreserve.dts";
  const std::string what = boot_error([&] { boot::dtb_boot_file(path, placed(), GetParam()->build(), run_); });
  EXPECT_EQ(what.rfind(path.string() + ":offset 0: not a device tree blob", 0), 0u) << what;
}

TEST_P(DtbBoot, memory_reg_of_a_partial_entry_names_the_node) {
  const auto path = dtb("bad_memory_reg");
  const std::string what = boot_error([&] { boot::dtb_boot_file(path, placed(), GetParam()->build(), run_); });
  EXPECT_EQ(what.rfind(path.string() + ":/memory@80000000: reg is 20 bytes", 0), 0u) << what;
}

TEST_P(DtbBoot, unreadable_file_is_named) {
  const std::string what =
      boot_error([&] { boot::dtb_boot_file("/no/such.dtb", placed(), GetParam()->build(), run_); });
  EXPECT_EQ(what, "/no/such.dtb: cannot open the file");
}

struct VariantName {
  std::string operator()(const ::testing::TestParamInfo<const Variant*>& param) const {
    return std::string(param.param->name());
  }
};

INSTANTIATE_TEST_SUITE_P(, DtbBoot, ::testing::ValuesIn(variants_with_64bit_phys()), VariantName{});

// arm64's phys_addr_t is 64 bits wide; a 32-bit build cannot hold its addresses.
TEST(DtbBuild, thirty_two_bit_phys_addr_t_is_refused) {
  for (const Variant& v : all_variants()) {
    if (v.build().phys_bits == 64) continue;
    boot::Run never = [](const Op&) -> Outcome { throw std::logic_error("ran an op"); };
    EXPECT_THROW(boot::dtb_boot_file(dtb("memreserve"), placed(), v.build(), never), std::invalid_argument);
  }
}

}  // namespace
}  // namespace mbfuzz::testing
