// The oracle checks itself: oracle::Model (interval maps) and
// BruteForceModel (one slot per page, written separately from the kernel-doc)
// must give the same outcome and the same state after every op of thousands
// of random sequences inside the brute force's domain. No memblock runs here,
// so a disagreement is a bug in one of the two models.
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/render.hpp"
#include "core/tests/memblock_fixture.hpp"
#include "core/trace.hpp"
#include "oracle/brute_force.hpp"
#include "oracle/model.hpp"

namespace mbfuzz::oracle {
namespace {

constexpr std::size_t kUnits = BruteForceModel::kUnits;

// Random op sequences inside the brute force's domain: page-multiple
// addresses and sizes below 64 pages, drawn so that ranges often start or end
// where earlier ones did (touching, nesting, overlapping), few nodes and flags
// (so that neighbours merge), and every op the domain holds.
class InDomainOps {
 public:
  InDomainOps(std::uint64_t seed, const Build& build) : rng_(seed), build_(build) {}

  std::vector<Op> sequence(std::size_t length) {
    std::vector<Op> ops;
    // Memory first, or most allocations have nowhere to go.
    for (int i = 0, n = 1 + below(3); i < n; ++i) ops.push_back(memory_add());
    while (ops.size() < length) ops.push_back(any());
    return ops;
  }

 private:
  using Maker = std::function<Op(InDomainOps&)>;

  int below(int n) { return static_cast<int>(rng_() % static_cast<unsigned>(n)); }
  bool chance(int one_in) { return below(one_in) == 0; }
  template <class T>
  T pick(std::initializer_list<T> values) {
    return *(values.begin() + below(static_cast<int>(values.size())));
  }
  Phys page() const { return build_.page_size; }

  // A unit boundary in [0, kUnits], often one used before.
  std::size_t boundary() {
    if (!seen_.empty() && chance(2)) return seen_[static_cast<std::size_t>(below(static_cast<int>(seen_.size())))];
    return static_cast<std::size_t>(below(static_cast<int>(kUnits) + 1));
  }
  void remember(std::size_t u) {
    if (seen_.size() < 12) seen_.push_back(u);
    else seen_[static_cast<std::size_t>(below(12))] = u;
  }
  // [base, base + size) in bytes, inside the modelled space; empty now and then.
  std::pair<Phys, Phys> range() {
    std::size_t b = boundary(), e = chance(3) ? boundary() : b + static_cast<std::size_t>(pick({0, 1, 1, 2, 3, 4, 8}));
    e = std::min(e, kUnits);
    if (e < b) std::swap(b, e);
    remember(b), remember(e);
    return {b * page(), (e - b) * page()};
  }
  Phys address() { return boundary() * page(); }
  Phys size() { return static_cast<Phys>(pick({0, 1, 1, 1, 2, 2, 3, 4, 5, 8, 16})) * page(); }
  Phys align() { return pick<Phys>({0, 0, 1, 64, page(), page(), 2 * page(), 4 * page(), 8 * page(), 32 * page(), 128 * page()}); }
  Limit bound() {
    if (chance(2)) return Limit{pick({Limit::anywhere, Limit::accessible, Limit::noleaktrace})};
    return Limit{address()};
  }
  Nid nid() {
    const int max = build_.max_numnodes;
    return Nid{build_.numa ? pick({-1, 0, 0, 1, 1, 2, max}) : pick({-1, 0, 0, 0, 1, 2})};
  }
  Flags region_flags() { return Flags{chance(2) ? 0u : static_cast<std::uint32_t>(below(16))}; }

  Op memory_add() {
    auto [b, s] = range();
    if (s == 0) s = page() * static_cast<Phys>(1 + below(16));
    if (b + s > kUnits * page()) b = kUnits * page() - s;
    if (chance(2)) return Add{b, s};
    return AddNode{.base = b, .size = s, .nid = nid(), .flags = region_flags()};
  }

  template <class T>
  static Maker ranged() {
    return [](InDomainOps& g) -> Op {
      auto [b, s] = g.range();
      return T{.base = b, .size = s};
    };
  }

  Op any() {
    static const std::vector<std::pair<int, Maker>> makers = {
        {6, [](InDomainOps& g) -> Op { return g.memory_add(); }},
        {3, ranged<Remove>()},
        {6, ranged<Reserve>()},
        {3, ranged<PhysFree>()},
        {2, [](InDomainOps& g) -> Op {
           auto [b, s] = g.range();
           return Free{g.chance(6) ? std::nullopt : std::optional(b), s};
         }},
        {2, ranged<MarkHotplug>()},
        {1, ranged<ClearHotplug>()},
        {2, ranged<MarkNomap>()},
        {1, ranged<ClearNomap>()},
        {2, ranged<MarkMirror>()},
        {3, [](InDomainOps& g) -> Op {
           if (!g.build_.numa) return AllowResize{};  // memblock_set_node is empty without NUMA
           auto [b, s] = g.range();
           return SetNode{b, s, g.chance(2) ? RegionType::memory : RegionType::reserved, g.nid()};
         }},
        {1, [](InDomainOps& g) -> Op {
           return TrimMemory{g.pick<Phys>({1, 64, g.page(), 2 * g.page(), 4 * g.page(), 16 * g.page()})};
         }},
        {1, [](InDomainOps& g) -> Op { return EnforceMemoryLimit{g.size() * static_cast<Phys>(1 + g.below(4))}; }},
        {1, ranged<CapMemoryRange>()},
        {1, [](InDomainOps& g) -> Op { return MemLimitRemoveMap{g.size() * static_cast<Phys>(1 + g.below(4))}; }},
        {1, [](InDomainOps& g) -> Op {
           return SetCurrentLimit{g.chance(2) ? Limit{Limit::anywhere} : Limit{g.address()}};
         }},
        {2, [](InDomainOps& g) -> Op { return SetBottomUp{g.chance(2)}; }},
        {1, [](InDomainOps& g) -> Op { return SetMovableNode{g.chance(2)}; }},
        {1, [](InDomainOps& g) -> Op { return SetMirroredKernelcore{!g.chance(3)}; }},
        {1, [](InDomainOps& g) -> Op { return SetSlabAvailable{g.chance(4)}; }},
        {1, [](InDomainOps&) -> Op { return AllowResize{}; }},
        {3, [](InDomainOps& g) -> Op { return PhysAlloc{g.size(), g.align()}; }},
        {2, [](InDomainOps& g) -> Op { return PhysAllocRange{g.size(), g.align(), g.address(), g.bound()}; }},
        {2, [](InDomainOps& g) -> Op { return PhysAllocTryNid{g.size(), g.align(), g.nid()}; }},
        {3, [](InDomainOps& g) -> Op {
           return AllocRangeNid{g.size(), g.align(), g.address(), g.bound(), g.nid(), g.chance(2)};
         }},
        {2, [](InDomainOps& g) -> Op { return Alloc{g.size(), g.align()}; }},
        {1, [](InDomainOps& g) -> Op { return AllocRaw{g.size(), g.align()}; }},
        {1, [](InDomainOps& g) -> Op { return AllocLow{g.size(), g.align()}; }},
        {2, [](InDomainOps& g) -> Op { return AllocFrom{g.size(), g.align(), g.address()}; }},
        {2, [](InDomainOps& g) -> Op { return AllocNode{g.size(), g.align(), g.nid()}; }},
        {2, [](InDomainOps& g) -> Op { return AllocTryNid{g.size(), g.align(), g.address(), g.bound(), g.nid()}; }},
        {1, [](InDomainOps& g) -> Op { return AllocTryNidRaw{g.size(), g.align(), g.address(), g.bound(), g.nid()}; }},
        {2, [](InDomainOps& g) -> Op { return AllocExactNidRaw{g.size(), g.align(), g.address(), g.bound(), g.nid()}; }},
        {1, [](InDomainOps& g) -> Op {
           auto [b, s] = g.range();
           return OverlapsRegion{g.chance(2) ? RegionType::memory : RegionType::reserved, b, s};
         }},
        {1, ranged<IsRegionReserved>()},
        {1, ranged<IsRegionMemory>()},
        {1, [](InDomainOps& g) -> Op { return IsMemory{g.address()}; }},
        {1, [](InDomainOps& g) -> Op { return IsMapMemory{g.address()}; }},
        {1, [](InDomainOps& g) -> Op { return IsReserved{g.address()}; }},
        {1, [](InDomainOps&) -> Op { return PhysMemSize{}; }},
        {1, [](InDomainOps&) -> Op { return ReservedSize{}; }},
        {1, [](InDomainOps&) -> Op { return StartOfDram{}; }},
        {1, [](InDomainOps&) -> Op { return EndOfDram{}; }},
        {1, [](InDomainOps& g) -> Op { return SearchPfnNid{g.boundary()}; }},
        {2, [](InDomainOps& g) -> Op {
           const int max = g.build_.max_numnodes;
           return FreeRanges{g.chance(2) ? g.nid() : Nid{max}, g.region_flags(), g.chance(2)};
         }},
        {1, [](InDomainOps& g) -> Op { return MemPfnRanges{g.chance(2) ? g.nid() : Nid{g.build_.max_numnodes}}; }},
        {1, [](InDomainOps& g) -> Op { return FreeAll{g.chance(4) ? ~0ull : g.boundary()}; }},
        {1, [](InDomainOps& g) -> Op { return g.chance(10) ? Op{Discard{}} : Op{PhysMemSize{}}; }},
    };
    static const int total = [] {
      int sum = 0;
      for (const auto& [weight, maker] : makers) sum += weight;
      return sum;
    }();
    int ticket = below(total);
    for (const auto& [weight, maker] : makers) {
      if (ticket < weight) return maker(*this);
      ticket -= weight;
    }
    return PhysMemSize{};
  }

  std::mt19937_64 rng_;
  const Build& build_;
  std::vector<std::size_t> seen_;
};

// What the runs exercised, so that agreement is not vacuous.
struct Coverage {
  std::map<std::string, int> ops;  // keyword -> times run before any refusal
  int allocations_found = 0;
  int allocations_failed = 0;
  void count(const Op& op, const Outcome& outcome) {
    if (outcome.status == Outcome::Status::refused) return;
    ++ops[std::string(op_name(op))];
    if (const auto* a = std::get_if<Address>(&outcome.value); a && is_allocation(op))
      ++(a->value ? allocations_found : allocations_failed);
    if (const auto* a = std::get_if<Allocation>(&outcome.value))
      ++(a->kind == Allocation::Kind::memory ? allocations_found : allocations_failed);
  }
  // phys_alloc*, alloc* and alloc_*: every allocator's keyword says so.
  static bool is_allocation(const Op& op) { return op_name(op).find("alloc") != std::string_view::npos; }
};

// The first disagreement of a sequence: the op, and a report with everything
// needed to reproduce and judge it.
struct Mismatch {
  Op op;
  std::string report;
};

// Runs one seed's sequence on both models.
std::optional<Mismatch> cross_check(const Variant& variant, std::uint64_t seed, BruteForceModel::Flaw flaw,
                                       Coverage& coverage) {
  const Knobs knobs = Knobs::for_build(variant.build());
  const std::vector<Op> ops = InDomainOps(seed, variant.build()).sequence(40);
  Model oracle(knobs);
  BruteForceModel brute(knobs, flaw);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    auto report = [&](std::string_view what, const std::string& icl, const std::string& naive) {
      std::ostringstream out;
      out << variant.name() << " seed " << seed << ", op " << i << " (" << format_op(op) << "): " << what
          << "\ntrace (ops 0.." << i << "):\n"
          << format_trace(std::span(ops).first(i + 1)) << "oracle::Model:\n"
          << icl << "\nBruteForceModel:\n"
          << naive;
      return Mismatch{op, out.str()};
    };
    if (!brute.represents(op)) return report("the generator left the domain", "", "");
    const std::optional<Outcome> expected = oracle.run(op);
    const std::optional<Outcome> actual = brute.run(op);
    if (!expected) return report("oracle::Model calls the op unspecified", "nullopt", "");
    const Snapshot icl_state = oracle.snapshot(), naive_state = brute.snapshot();
    if (*expected != *actual || icl_state != naive_state) {
      return report(*expected != *actual ? "outcomes differ" : "states differ",
                    render_outcome(*expected) + "\n" + render_snapshot(icl_state),
                    render_outcome(*actual) + "\n" + render_snapshot(naive_state));
    }
    coverage.count(op, *expected);
  }
  return std::nullopt;
}

// MBFUZZ_BRUTE_SEQUENCES scales the run (default 2000 per variant).
int sequence_count() {
  const char* n = std::getenv("MBFUZZ_BRUTE_SEQUENCES");
  return n ? std::atoi(n) : 2000;
}

class BruteForceCrossCheck : public ::testing::TestWithParam<const Variant*> {};

TEST_P(BruteForceCrossCheck, interval_model_and_page_array_model_agree_after_every_op) {
  const Variant& variant = *GetParam();
  Coverage coverage;
  const int sequences = sequence_count();
  for (int seed = 0; seed < sequences; ++seed) {
    if (auto mismatch = cross_check(variant, static_cast<std::uint64_t>(seed), BruteForceModel::Flaw::none, coverage))
      FAIL() << mismatch->report;
  }
  // Agreement proves little unless every op of the domain ran, and allocations
  // both succeeded and failed.
  for (std::string_view name :
       {"add", "add_node", "remove", "reserve", "phys_free", "free", "mark_hotplug", "clear_hotplug",
        "mark_nomap", "clear_nomap", "mark_mirror", "mirrored_kernelcore", "trim_memory",
        "enforce_memory_limit", "cap_memory_range", "mem_limit_remove_map", "set_current_limit",
        "set_bottom_up", "movable_node", "phys_alloc", "phys_alloc_range", "phys_alloc_try_nid",
        "alloc_range_nid", "alloc", "alloc_raw", "alloc_from", "alloc_low", "alloc_node", "alloc_try_nid",
        "alloc_try_nid_raw", "alloc_exact_nid_raw", "overlaps_region", "is_region_reserved",
        "is_region_memory", "is_memory", "is_map_memory", "is_reserved", "phys_mem_size", "reserved_size",
        "start_of_DRAM", "end_of_DRAM", "search_pfn_nid", "free_ranges", "mem_pfn_ranges", "free_all",
        "discard"})
    EXPECT_GT(coverage.ops[std::string(name)], 0) << name << " never ran";
  if (variant.build().numa) {
    EXPECT_GT(coverage.ops["set_node"], 0);
  }
  for (const auto& [k, v] : coverage.ops) std::cout << k << " " << v << "\n";
  std::cout << "found " << coverage.allocations_found << " failed " << coverage.allocations_failed << "\n";
  EXPECT_GT(coverage.allocations_found, sequences);
  EXPECT_GT(coverage.allocations_failed, sequences / 10);
}

// The cross-check can fail: a brute force whose top-down allocations take the
// lowest fit instead of the highest is caught on an allocating op.
TEST_P(BruteForceCrossCheck, a_brute_force_allocating_from_the_wrong_end_is_caught) {
  const Variant& variant = *GetParam();
  Coverage coverage;
  std::optional<Mismatch> mismatch;
  for (std::uint64_t seed = 0; seed < 200 && !mismatch; ++seed)
    mismatch = cross_check(variant, seed, BruteForceModel::Flaw::top_down_takes_lowest, coverage);
  ASSERT_TRUE(mismatch.has_value()) << "200 sequences never told the highest fit from the lowest";
  EXPECT_TRUE(Coverage::is_allocation(mismatch->op)) << mismatch->report;
}

MBFUZZ_EVERY_VARIANT(BruteForceCrossCheck);

}  // namespace
}  // namespace mbfuzz::oracle
