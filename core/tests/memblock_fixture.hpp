// A fresh production memblock per test, parameterized over every variant.
//
// Expected values in tests come from memblock's documented semantics (the
// kernel-doc in mm/memblock.c and include/linux/memblock.h,
// Documentation/core-api/boot-time-mm.rst), never from running the code.
//
// The same tests are built twice: against the production memblock
// (core_tests) and, with MBFUZZ_TEST_THE_MODEL, against the oracle's model
// of the specification (oracle_spec_tests).
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/production.hpp"
#include "core/render.hpp"
#include "core/trace.hpp"
#include "core/variant.hpp"
#ifdef MBFUZZ_TEST_THE_MODEL
#include "oracle/model_memblock.hpp"
#endif

namespace mbfuzz::testing {

inline constexpr Phys KiB = 1024;
inline constexpr Phys MiB = 1024 * KiB;
inline constexpr Phys GiB = 1024 * MiB;
inline constexpr Phys page = 4096;

// The nid memblock_add() gives a region: MAX_NUMNODES with NUMA, 0 without.
inline int unassigned_nid(const Variant& v) { return v.build().numa ? v.build().max_numnodes : 0; }

// The nid a region shows for `nid` on this variant (0 without CONFIG_NUMA).
inline int shown_nid(const Variant& v, int nid) { return v.build().numa ? nid : 0; }

#ifdef MBFUZZ_TEST_THE_MODEL
using SystemUnderTest = oracle::ModelMemblock;
#else
using SystemUnderTest = ProductionMemblock;
#endif

class MemblockTest : public ::testing::TestWithParam<const Variant*> {
 protected:
  // The production memblock reports WARNs and printk lines; the model of
  // the specification has none to report.
#ifdef MBFUZZ_TEST_THE_MODEL
  static constexpr bool reports_kernel_messages = false;
#else
  static constexpr bool reports_kernel_messages = true;
#endif

  void SetUp() override { memblock_ = std::make_unique<SystemUnderTest>(variant()); }
  void TearDown() override { memblock_.reset(); }

  const Variant& variant() const { return *GetParam(); }
  const Build& build() const { return variant().build(); }
  SystemUnderTest& memblock() { return *memblock_; }
  Snapshot state() const { return memblock_->snapshot(); }

  // Runs an op and requires that it completed without any WARN or BUG.
  Outcome run(const Op& op) {
    Outcome outcome = memblock_->run(op);
    EXPECT_EQ(outcome.status, Outcome::Status::completed) << render_outcome(outcome);
    EXPECT_TRUE(outcome.events.empty()) << render_outcome(outcome);
    return outcome;
  }

  // Set-up calls: each must complete cleanly, and an int return must be 0.
  void given(const std::vector<Op>& ops) {
    for (const Op& op : ops) {
      Outcome outcome = run(op);
      if (const auto* e = std::get_if<Errno>(&outcome.value)) {
        EXPECT_EQ(e->value, 0) << format_op(op);
      }
    }
  }

  int err(const Op& op) { return std::get<Errno>(run(op).value).value; }
  bool truth(const Op& op) { return std::get<Truth>(run(op).value).value; }
  Phys address(const Op& op) { return std::get<Address>(run(op).value).value; }
  Allocation allocation(const Op& op) { return std::get<Allocation>(run(op).value); }
  std::vector<Range> ranges(const Op& op) { return std::get<Ranges>(run(op).value).ranges; }
  BuddyRelease released(const Op& op) { return std::get<BuddyRelease>(run(op).value); }
  PfnNid pfn_nid(std::uint64_t pfn) { return std::get<PfnNid>(run(SearchPfnNid{.pfn = pfn}).value); }

  // PHYS_ADDR_MAX of this variant: the last byte of the address space.
  Phys top() const { return build().phys_addr_max(); }

  // A region as the snapshot shows it, with the nid it shows on this variant.
  Region region(Phys base, Phys size, std::uint32_t flags = 0, int nid = -2) const {
    return Region{base, size, flags, nid == -2 ? unassigned_nid(variant()) : shown_nid(variant(), nid)};
  }
  // A reserved region: memblock_reserve() also uses MAX_NUMNODES.
  Region reserved(Phys base, Phys size) const { return region(base, size); }

  // The dummy entry of an array emptied by removal (nid MAX_NUMNODES with NUMA;
  // the dummy of a fresh boot has nid 0).
  std::vector<Region> emptied() const { return {region(0, 0)}; }

  std::vector<Region> memory_regions() const { return state().memory.regions; }
  std::vector<Region> reserved_regions() const { return state().reserved.regions; }

 private:
  std::unique_ptr<SystemUnderTest> memblock_;
};

inline std::vector<const Variant*> every_variant() {
  std::vector<const Variant*> out;
  for (const Variant& v : all_variants()) out.push_back(&v);
  return out;
}

inline std::vector<const Variant*> numa_variants() {
  std::vector<const Variant*> out;
  for (const Variant& v : all_variants())
    if (v.build().numa) out.push_back(&v);
  return out;
}

struct VariantName {
  std::string operator()(const ::testing::TestParamInfo<const Variant*>& info) const {
    return std::string(info.param->name());
  }
};

}  // namespace mbfuzz::testing

// Lets gtest print regions in failure messages.
namespace mbfuzz {
inline void PrintTo(const Region& r, std::ostream* os) {
  *os << "{base 0x" << std::hex << r.base << " size 0x" << r.size << " flags " << render_flags(r.flags)
      << std::dec << " nid " << r.nid << "}";
}
inline void PrintTo(const Range& r, std::ostream* os) {
  *os << "[0x" << std::hex << r.start << ", 0x" << r.end << ") nid " << std::dec << r.nid;
}
inline void PrintTo(const PageBlock& b, std::ostream* os) {
  *os << "{pfn 0x" << std::hex << b.pfn << std::dec << " order " << b.order << "}";
}
}  // namespace mbfuzz

#define MBFUZZ_EVERY_VARIANT(Suite) \
  INSTANTIATE_TEST_SUITE_P(, Suite, ::testing::ValuesIn(::mbfuzz::testing::every_variant()), \
                           ::mbfuzz::testing::VariantName{})
#define MBFUZZ_NUMA_VARIANTS(Suite) \
  INSTANTIATE_TEST_SUITE_P(, Suite, ::testing::ValuesIn(::mbfuzz::testing::numa_variants()), \
                           ::mbfuzz::testing::VariantName{})
