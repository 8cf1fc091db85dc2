#include "oracle/emit_c.hpp"

#include <fmt/format.h>

#include <optional>

#include "core/render.hpp"
#include "core/trace.hpp"
#include "oracle/model.hpp"

namespace mbfuzz::oracle {
namespace {

std::string hex(std::uint64_t v) { return v == 0 ? "0" : fmt::format("{:#x}", v); }
std::string limit(Limit l) {
  if (l.value == Limit::anywhere) return "MEMBLOCK_ALLOC_ANYWHERE";
  if (l.value == Limit::accessible) return "MEMBLOCK_ALLOC_ACCESSIBLE";
  if (l.value == Limit::noleaktrace) return "MEMBLOCK_ALLOC_NOLEAKTRACE";
  return hex(l.value);
}
std::string nid(Nid n) { return n.value == Nid::no_node ? "NUMA_NO_NODE" : fmt::format("{}", n.value); }
std::string flags(Flags f) {
  if (f.bits == 0) return "MEMBLOCK_NONE";
  std::string out;
  for (auto [bit, name] : {std::pair{Flags::hotplug, "MEMBLOCK_HOTPLUG"}, std::pair{Flags::mirror, "MEMBLOCK_MIRROR"},
                           std::pair{Flags::nomap, "MEMBLOCK_NOMAP"},
                           std::pair{Flags::driver_managed, "MEMBLOCK_DRIVER_MANAGED"}})
    if (f.bits & bit) out += (out.empty() ? "" : " | ") + std::string(name);
  return out;
}
std::string type(RegionType t) { return t == RegionType::memory ? "&memblock.memory" : "&memblock.reserved"; }
std::string boolean(bool b) { return b ? "true" : "false"; }

// One op as C: the statement that makes the call, with its result (if any)
// in a variable of the given C type, or nullopt when the suite cannot do it.
struct Call {
  std::string result_type;  // empty: a statement without a result
  std::string expression;
};

struct ToC {
  std::optional<Call> operator()(const SetSlabAvailable& o) {
    if (o.on) return std::nullopt;  // the suite has no slab to switch on
    return Call{"", "/* slab is not available */ (void)0"};
  }
  std::optional<Call> operator()(const SetMovableNode& o) { return Call{"", "movable_node_enabled = " + boolean(o.on)}; }
  std::optional<Call> operator()(const SetMirroredKernelcore& o) { return Call{"", "mirrored_kernelcore = " + boolean(o.on)}; }
  std::optional<Call> operator()(const Add& o) { return range("int", "memblock_add", o); }
  std::optional<Call> operator()(const AddNode& o) {
    return Call{"int", fmt::format("memblock_add_node({}, {}, {}, {})", hex(o.base), hex(o.size), nid(o.nid), flags(o.flags))};
  }
  std::optional<Call> operator()(const Remove& o) { return range("int", "memblock_remove", o); }
  std::optional<Call> operator()(const Reserve& o) { return range("int", "memblock_reserve", o); }
  std::optional<Call> operator()(const PhysFree& o) { return range("int", "memblock_phys_free", o); }
  std::optional<Call> operator()(const Free& o) {
    return Call{"", fmt::format("memblock_free({}, {})", o.ptr ? "(void *)" + hex(*o.ptr) : "NULL", hex(o.size))};
  }
  std::optional<Call> operator()(const MarkHotplug& o) { return range("int", "memblock_mark_hotplug", o); }
  std::optional<Call> operator()(const ClearHotplug& o) { return range("int", "memblock_clear_hotplug", o); }
  std::optional<Call> operator()(const MarkMirror& o) { return range("int", "memblock_mark_mirror", o); }
  std::optional<Call> operator()(const MarkNomap& o) { return range("int", "memblock_mark_nomap", o); }
  std::optional<Call> operator()(const ClearNomap& o) { return range("int", "memblock_clear_nomap", o); }
  std::optional<Call> operator()(const SetNode& o) {
    return Call{"int", fmt::format("memblock_set_node({}, {}, {}, {})", hex(o.base), hex(o.size), type(o.type), nid(o.nid))};
  }
  std::optional<Call> operator()(const TrimMemory& o) { return Call{"", fmt::format("memblock_trim_memory({})", hex(o.align))}; }
  std::optional<Call> operator()(const EnforceMemoryLimit& o) {
    return Call{"", fmt::format("memblock_enforce_memory_limit({})", hex(o.limit))};
  }
  std::optional<Call> operator()(const CapMemoryRange& o) { return range("", "memblock_cap_memory_range", o); }
  std::optional<Call> operator()(const MemLimitRemoveMap& o) {
    return Call{"", fmt::format("memblock_mem_limit_remove_map({})", hex(o.limit))};
  }
  std::optional<Call> operator()(const SetCurrentLimit& o) {
    return Call{"", fmt::format("memblock_set_current_limit({})", limit(o.limit))};
  }
  std::optional<Call> operator()(const SetBottomUp& o) { return Call{"", "memblock_set_bottom_up(" + boolean(o.enable) + ")"}; }
  std::optional<Call> operator()(const AllowResize&) { return Call{"", "memblock_allow_resize()"}; }
  std::optional<Call> operator()(const PhysAlloc& o) { return sized("phys_addr_t", "memblock_phys_alloc", o, ""); }
  std::optional<Call> operator()(const PhysAllocRange& o) {
    return sized("phys_addr_t", "memblock_phys_alloc_range", o, fmt::format(", {}, {}", hex(o.start), limit(o.end)));
  }
  std::optional<Call> operator()(const PhysAllocTryNid& o) {
    return sized("phys_addr_t", "memblock_phys_alloc_try_nid", o, ", " + nid(o.nid));
  }
  std::optional<Call> operator()(const AllocRangeNid& o) {
    return sized("phys_addr_t", "memblock_alloc_range_nid", o,
                 fmt::format(", {}, {}, {}, {}", hex(o.start), limit(o.end), nid(o.nid), boolean(o.exact_nid)));
  }
  std::optional<Call> operator()(const Alloc& o) { return sized("void *", "memblock_alloc", o, ""); }
  std::optional<Call> operator()(const AllocRaw& o) { return sized("void *", "memblock_alloc_raw", o, ""); }
  std::optional<Call> operator()(const AllocFrom& o) { return sized("void *", "memblock_alloc_from", o, ", " + hex(o.min)); }
  std::optional<Call> operator()(const AllocLow& o) { return sized("void *", "memblock_alloc_low", o, ""); }
  std::optional<Call> operator()(const AllocNode& o) { return sized("void *", "memblock_alloc_node", o, ", " + nid(o.nid)); }
  std::optional<Call> operator()(const AllocTryNid& o) { return try_nid("memblock_alloc_try_nid", o); }
  std::optional<Call> operator()(const AllocTryNidRaw& o) { return try_nid("memblock_alloc_try_nid_raw", o); }
  std::optional<Call> operator()(const AllocExactNidRaw& o) { return try_nid("memblock_alloc_exact_nid_raw", o); }
  std::optional<Call> operator()(const OverlapsRegion& o) {
    return Call{"bool", fmt::format("memblock_overlaps_region({}, {}, {})", type(o.type), hex(o.base), hex(o.size))};
  }
  std::optional<Call> operator()(const IsRegionReserved& o) { return range("bool", "memblock_is_region_reserved", o); }
  std::optional<Call> operator()(const IsMemory& o) { return address("memblock_is_memory", o.addr); }
  std::optional<Call> operator()(const IsMapMemory& o) { return address("memblock_is_map_memory", o.addr); }
  std::optional<Call> operator()(const IsRegionMemory& o) { return range("bool", "memblock_is_region_memory", o); }
  std::optional<Call> operator()(const IsReserved& o) { return address("memblock_is_reserved", o.addr); }
  std::optional<Call> operator()(const PhysMemSize&) { return Call{"phys_addr_t", "memblock_phys_mem_size()"}; }
  std::optional<Call> operator()(const ReservedSize&) { return Call{"phys_addr_t", "memblock_reserved_size()"}; }
  std::optional<Call> operator()(const StartOfDram&) { return Call{"phys_addr_t", "memblock_start_of_DRAM()"}; }
  std::optional<Call> operator()(const EndOfDram&) { return Call{"phys_addr_t", "memblock_end_of_DRAM()"}; }
  std::optional<Call> operator()(const SearchPfnNid& o) {
    return Call{"pfn_nid", fmt::format("memblock_search_pfn_nid({}, &start_pfn, &end_pfn)", hex(o.pfn))};
  }
  std::optional<Call> operator()(const FreeRanges& o) {
    return Call{"ranges", fmt::format("for_each_free_mem_range{}(i, {}, {}, &start, &end, &range_nid)",
                                      o.reverse ? "_reverse" : "", nid(o.nid), flags(o.flags))};
  }
  std::optional<Call> operator()(const MemPfnRanges& o) {
    return Call{"pfn_ranges", fmt::format("for_each_mem_pfn_range(pfn_i, {}, &start_pfn, &end_pfn, &range_nid)",
                                          nid(o.nid))};
  }
  // The suite's memblock_free_pages() records nothing: the hand-off is run, not checked.
  std::optional<Call> operator()(const FreeAll&) { return std::nullopt; }
  std::optional<Call> operator()(const Discard&) { return std::nullopt; }
  // The kernel's suite tests memblock; bootmem left the kernel in 4.20.
  template <class T>
    requires is_bootmem_op_v<T>
  std::optional<Call> operator()(const T&) { return std::nullopt; }

 private:
  template <class O>
  static Call range(std::string type, std::string_view fn, const O& o) {
    return Call{std::move(type), fmt::format("{}({}, {})", fn, hex(o.base), hex(o.size))};
  }
  template <class O>
  static Call sized(std::string type, std::string_view fn, const O& o, std::string_view rest) {
    return Call{std::move(type), fmt::format("{}({}, {}{})", fn, hex(o.size), hex(o.align), rest)};
  }
  template <class O>
  static Call try_nid(std::string_view fn, const O& o) {
    return sized("void *", fn, o, fmt::format(", {}, {}, {}", hex(o.min), limit(o.max), nid(o.nid)));
  }
  static Call address(std::string_view fn, Phys addr) { return Call{"bool", fmt::format("{}({})", fn, hex(addr))}; }
};

// The assertions that the call's result is what the specification says.
std::string assertions(const Outcome& expected) {
  std::string out;
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, Errno>) out += fmt::format("\tASSERT_EQ(ret, {});\n", v.value);
        else if constexpr (std::is_same_v<V, Truth>) out += fmt::format("\tASSERT_EQ(truth, {});\n", boolean(v.value));
        else if constexpr (std::is_same_v<V, Address>) out += fmt::format("\tASSERT_EQ(addr, {});\n", hex(v.value));
        else if constexpr (std::is_same_v<V, Allocation>)
          out += v.kind == Allocation::Kind::null ? "\tASSERT_EQ(ptr, NULL);\n"
                                                  : fmt::format("\tASSERT_EQ(ptr, (void *){});\n", hex(v.addr));
        else if constexpr (std::is_same_v<V, PfnNid>)
          out += v.nid < 0 ? "\tASSERT_EQ(ret, -1);\n"
                           : fmt::format("\tASSERT_EQ(ret, {});\n\tASSERT_EQ(start_pfn, {});\n\tASSERT_EQ(end_pfn, {});\n",
                                         v.nid, hex(v.start_pfn), hex(v.end_pfn));
        else if constexpr (std::is_same_v<V, Ranges>) {
          out += fmt::format("\tASSERT_EQ(n, {});\n", v.ranges.size());
          for (std::size_t i = 0; i < v.ranges.size(); ++i)
            out += fmt::format("\tASSERT_EQ(found[{}][0], {});\n\tASSERT_EQ(found[{}][1], {});\n", i,
                               hex(v.ranges[i].start), i, hex(v.ranges[i].end));
        }
      },
      expected.value);
  return out;
}

std::string statement(const Call& call) {
  if (call.result_type.empty()) return fmt::format("\t{};\n", call.expression);
  if (call.result_type == "int") return fmt::format("\tret = {};\n", call.expression);
  if (call.result_type == "bool") return fmt::format("\ttruth = {};\n", call.expression);
  if (call.result_type == "phys_addr_t") return fmt::format("\taddr = {};\n", call.expression);
  if (call.result_type == "void *") return fmt::format("\tptr = {};\n", call.expression);
  if (call.result_type == "pfn_nid") return fmt::format("\tret = {};\n", call.expression);
  // An iteration: collect what it yields, at most as many as asserted.
  const bool pfns = call.result_type == "pfn_ranges";
  return fmt::format("\tn = 0;\n\t{} {{\n\t\tif (n < MBFUZZ_MAX_RANGES) {{\n\t\t\tfound[n][0] = {};\n"
                     "\t\t\tfound[n][1] = {};\n\t\t}}\n\t\tn++;\n\t}}\n",
                     call.expression, pfns ? "start_pfn" : "start", pfns ? "end_pfn" : "end");
}

// Where memblock will write during `op`: the block a zeroing allocator
// returns, and a region array memblock_double_array() moves into memory.
AddressSet written(const Op& op, const Outcome& outcome, const Snapshot& before, const Snapshot& after) {
  AddressSet out;
  if (const auto* a = std::get_if<Allocation>(&outcome.value); a && a->kind == Allocation::Kind::memory)
    std::visit([&](const auto& o) {
      if constexpr (requires { o.size; }) out += interval(a->addr, a->addr + o.size);
    }, op);
  if ((before.memory.in_static_array && !after.memory.in_static_array) ||
      (before.reserved.in_static_array && !after.reserved.in_static_array))
    out += covered(after.reserved) - covered(before.reserved);
  return out;
}

std::string region_assertions(std::string_view name, const RegionArray& a) {
  std::string out = fmt::format("\tASSERT_EQ(memblock.{0}.cnt, {1});\n\tASSERT_EQ(memblock.{0}.total_size, {2});\n",
                                name, a.cnt, hex(a.total_size));
  for (std::size_t i = 0; i < a.regions.size(); ++i) {
    const Region& r = a.regions[i];
    out += fmt::format("\tASSERT_EQ(memblock.{0}.regions[{1}].base, {2});\n"
                       "\tASSERT_EQ(memblock.{0}.regions[{1}].size, {3});\n"
                       "\tASSERT_EQ(memblock.{0}.regions[{1}].flags, {4});\n",
                       name, i, hex(r.base), hex(r.size), hex(r.flags));
    out += fmt::format("#ifdef CONFIG_NUMA\n\tASSERT_EQ(memblock.{}.regions[{}].nid, {});\n#endif\n", name, i, r.nid);
  }
  return out;
}

constexpr std::string_view prologue = R"(// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Generated by mbfuzz from a finding; the expected values are memblock's
 * specification, not the output of the tree the finding came from.
 *
 * To run it in tools/testing/memblock: copy this file to tests/, add
 * tests/{name}.o to TEST_OFILES in the Makefile, declare
 * `int {name}_checks(void);` in main.c and call it from main().
 */
#include <limits.h>
#include <sys/mman.h>
#include "common.h"

#define MBFUZZ_MAX_RANGES 64

extern bool movable_node_enabled;
extern bool mirrored_kernelcore;

/* The suite maps physical addresses one to one: back the ones memblock writes. */
static void __maybe_unused mbfuzz_map(phys_addr_t base, phys_addr_t size)
{{
	phys_addr_t start = base & ~(phys_addr_t)(PAGE_SIZE - 1);
	void *p = mmap((void *)start, base + size - start, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	ASSERT_EQ(p, (void *)start);
}}

)";

}  // namespace

Knobs knobs_for_kernel_suite(bool numa) {
  Knobs k;
  k.smp_cache_bytes = 32;  // tools/include/linux/cache.h: L1_CACHE_SHIFT 5
  k.numa = numa;
  k.max_numnodes = numa ? 16 : 1;  // scripts/Makefile.include: CONFIG_NODES_SHIFT=4
  k.phys_bits = 64;                // the Makefile defines CONFIG_PHYS_ADDR_T_64BIT
  k.region_size = 24;              // two phys_addr_t, flags and (with NUMA) nid, padded to 8
  return k;
}

CTest render_c_test(std::string_view name, std::span<const Op> ops, const Knobs& suite, std::string_view comment) {
  Model model(suite);
  std::string body;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    std::optional<Call> call = std::visit(ToC{}, op);
    if (!call) return CTest{"", fmt::format("op {} ({}) cannot be expressed in the kernel's suite", i, format_op(op))};
    const Snapshot before = model.snapshot();
    std::optional<Outcome> expected = model.run(op);
    if (!expected || expected->status != Outcome::Status::completed)
      return CTest{"", fmt::format("op {} ({}) has no specified result that completes", i, format_op(op))};
    body += fmt::format("\n\t/* {} */\n", format_op(op));
    for (const Interval& block : written(op, *expected, before, model.snapshot()))
      body += fmt::format("\tmbfuzz_map({}, {});\n", hex(icl::lower(block)), hex(icl::length(block)));
    body += statement(*call) + assertions(*expected);
  }
  const Snapshot end = model.snapshot();
  body += "\n\t/* both region arrays after the last op */\n" + region_assertions("memory", end.memory) +
          region_assertions("reserved", end.reserved);

  std::string out = fmt::format(fmt::runtime(prologue), fmt::arg("name", name));
  out += fmt::format("/*\n * {}\n */\nstatic int {}(void)\n{{\n", comment, name);
  out += "\tint __maybe_unused ret = 0, __maybe_unused n = 0;\n"
         "\tbool __maybe_unused truth = false;\n"
         "\tphys_addr_t __maybe_unused addr = 0, __maybe_unused start = 0, __maybe_unused end = 0;\n"
         "\tunsigned long __maybe_unused start_pfn = 0, __maybe_unused end_pfn = 0;\n"
         "\tvoid __maybe_unused *ptr = NULL;\n"
         "\tint __maybe_unused range_nid = 0;\n"
         "\tu64 __maybe_unused i = 0;\n"
         "\tint __maybe_unused pfn_i = 0;\n"
         "\tphys_addr_t __maybe_unused found[MBFUZZ_MAX_RANGES][2];\n\n"
         "\tPREFIX_PUSH();\n\treset_memblock_regions();\n\treset_memblock_attributes();\n"
         "\tmovable_node_enabled = false;\n\tmirrored_kernelcore = false;\n";
  out += body;
  out += "\n\tmovable_node_enabled = false;\n\tmirrored_kernelcore = false;\n\ttest_pass_pop();\n\n\treturn 0;\n}\n\n";
  out += fmt::format("int {0}_checks(void)\n{{\n\tprefix_reset();\n\tprefix_push(\"mbfuzz\");\n"
                     "\ttest_print(\"Running mbfuzz finding {0}...\\n\");\n\n\t{0}();\n\n\tprefix_pop();\n\n\treturn 0;\n}}\n",
                     name);
  return CTest{out, ""};
}

}  // namespace mbfuzz::oracle
