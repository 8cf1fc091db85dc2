// The oracle checks itself: oracle::Model (interval maps) and
// BruteForceModel (one slot per page, written separately from the kernel-doc)
// must give the same outcome and the same state after every op of thousands
// of random sequences inside the brute force's domain. No memblock runs here,
// so a disagreement is a bug in one of the two models.
#include "oracle/brute_force.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "core/render.hpp"
#include "core/tests/memblock_fixture.hpp"
#include "core/trace.hpp"
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
  int below(int n) { return static_cast<int>(rng_() % static_cast<unsigned>(n)); }
  bool chance(int one_in) { return below(one_in) == 0; }
  template <class T>
  T pick(std::initializer_list<T> values) {
    return *(values.begin() + below(static_cast<int>(values.size())));
  }
  Phys page() const { return build_.page_size; }

  // A unit boundary in [0, kUnits], often one used before.
  std::size_t boundary() {
    if (!seen_.empty() && chance(2))
      return seen_[static_cast<std::size_t>(below(static_cast<int>(seen_.size())))];
    return static_cast<std::size_t>(below(static_cast<int>(kUnits) + 1));
  }
  void remember(std::size_t u) {
    if (seen_.size() < 12)
      seen_.push_back(u);
    else
      seen_[static_cast<std::size_t>(below(12))] = u;
  }
  // [base, base + size) in bytes, inside the modelled space; empty now and then.
  std::pair<Phys, Phys> range() {
    std::size_t b = boundary();
    std::size_t e = chance(3) ? boundary() : b + static_cast<std::size_t>(pick({0, 1, 1, 2, 4, 8}));
    e = std::min(e, kUnits);
    if (e < b) std::swap(b, e);
    remember(b), remember(e);
    return {b * page(), (e - b) * page()};
  }
  Phys address() { return boundary() * page(); }
  Phys size() { return static_cast<Phys>(pick({0, 1, 1, 1, 2, 2, 3, 4, 5, 8, 16})) * page(); }
  Phys align() {
    return pick<Phys>({0, 0, 1, 64, page(), page(), 2 * page(), 4 * page(), 8 * page(), 32 * page(),
                       128 * page()});
  }
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

  Phys current_limit() { return chance(2) ? Limit::anywhere : address(); }

  Op any() {
    if (chance(8)) return memory_add();
    if (chance(8)) return make<Reserve>();
    Op op = choose(std::make_index_sequence<memblock_op_kinds>{});
    if (std::holds_alternative<SetNode>(op) && !build_.numa) return any();  // empty without NUMA
    if (std::holds_alternative<Discard>(op) && !chance(10)) return any();   // it ends the run
    return op;
  }

  template <std::size_t... I>
  Op choose(std::index_sequence<I...>) {
    using Maker = Op (*)(InDomainOps&);
    static constexpr std::array<Maker, sizeof...(I)> makers{
        +[](InDomainOps& g) -> Op { return g.make<std::variant_alternative_t<I, Op>>(); }...};
    return makers[static_cast<std::size_t>(below(static_cast<int>(makers.size())))](*this);
  }

  // Every field from its pool, by type and name; then the couplings a field
  // alone cannot express.
  template <class T>
  T make() {
    T op{};
    std::apply(
        [&](const auto&... f) {
          ((op.*f.member = value<std::decay_t<decltype(op.*f.member)>>(f.name)), ...);
        },
        T::fields());
    if constexpr (requires { op.base; }) std::tie(op.base, op.size) = range();
    if constexpr (std::is_same_v<T, Free>) {
      auto [b, s] = range();
      op.ptr = chance(6) ? std::nullopt : std::optional(b);
      op.size = s;
    }
    if constexpr (std::is_same_v<T, TrimMemory>) op.align = page() << below(5);  // never 0
    if constexpr (std::is_same_v<T, SetSlabAvailable>)
      op.on = chance(4);  // it idles the allocators
    return op;
  }

  template <class V>
  V value(std::string_view field) {
    if constexpr (std::is_same_v<V, bool>) {
      return chance(2);
    } else if constexpr (std::is_same_v<V, Nid>) {
      return nid();
    } else if constexpr (std::is_same_v<V, Flags>) {
      return region_flags();
    } else if constexpr (std::is_same_v<V, RegionType>) {
      return chance(2) ? RegionType::memory : RegionType::reserved;
    } else if constexpr (std::is_same_v<V, Limit>) {
      return field == "limit" ? Limit{current_limit()} : bound();
    } else if constexpr (std::is_same_v<V, std::optional<Phys>>) {
      return std::nullopt;  // free's pointer: set with its size in make()
    } else {
      if (field == "size") return size();
      if (field == "align") return align();
      if (field == "limit") return size() * static_cast<Phys>(1 + below(4));  // an amount
      if (field == "max_low_pfn" && chance(4)) return ~Phys{0};
      if (field == "pfn" || field == "max_low_pfn") return boundary();
      return address();  // base, addr, start, min
    }
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
  static bool is_allocation(const Op& op) {
    return op_name(op).find("alloc") != std::string_view::npos;
  }
};

// The first disagreement of a sequence: the op, and a report with everything
// needed to reproduce and judge it.
struct Mismatch {
  Op op;
  std::string report;
};

// Runs one seed's sequence on both models.
std::optional<Mismatch> cross_check(const Variant& variant, const Knobs& knobs, std::uint64_t seed,
                                    BruteForceModel::Flaw flaw, Coverage& coverage) {
  const std::vector<Op> ops = InDomainOps(seed, variant.build()).sequence(40);
  Model oracle(knobs);
  BruteForceModel brute(knobs, flaw);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    auto report = [&](std::string_view what, const std::string& icl, const std::string& naive) {
      std::ostringstream out;
      out << variant.name() << " seed " << seed << ", op " << i << " (" << format_op(op)
          << "): " << what << "\ntrace (ops 0.." << i << "):\n"
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

// Runs `sequences` seeds; fails the test at the first mismatch. Each variant
// starts at its own seed so that builds differing only in phys_addr_t width
// still see different sequences.
Coverage agree_on(const Variant& variant, const Knobs& knobs, int sequences) {
  const auto first = static_cast<std::uint64_t>(&variant - all_variants().data()) << 32;
  Coverage coverage;
  for (std::uint64_t seed = first; seed < first + static_cast<std::uint64_t>(sequences); ++seed) {
    if (auto mismatch = cross_check(variant, knobs, seed, BruteForceModel::Flaw::none, coverage)) {
      ADD_FAILURE() << mismatch->report;
      break;
    }
  }
  return coverage;
}

template <std::size_t... I>
std::vector<std::string_view> every_op_name(std::index_sequence<I...>) {
  return {std::variant_alternative_t<I, Op>::name...};
}

// MBFUZZ_BRUTE_SEQUENCES scales the run (default 1000 per variant, under a
// second each in a Debug build).
int sequence_count() {
  const char* n = std::getenv("MBFUZZ_BRUTE_SEQUENCES");
  return n ? std::atoi(n) : 1000;
}

class BruteForceCrossCheck : public ::testing::TestWithParam<const Variant*> {
 protected:
  const Variant& variant() const { return *GetParam(); }
  Knobs knobs() const { return Knobs::for_build(variant().build()); }
};

TEST_P(BruteForceCrossCheck, interval_model_and_page_array_model_agree_after_every_op) {
  const int sequences = sequence_count();
  const Coverage coverage = agree_on(variant(), knobs(), sequences);
  if (HasFailure()) return;  // the mismatch says it all
  // Agreement proves little unless every op ran (set_node only where
  // CONFIG_NUMA gives it a meaning) and allocations both succeeded and failed.
  for (std::string_view name : every_op_name(std::make_index_sequence<memblock_op_kinds>{})) {
    if (name == SetNode::name && !variant().build().numa) continue;
    EXPECT_TRUE(coverage.ops.contains(std::string(name))) << name << " never ran";
  }
  int ops_run = 0;
  for (const auto& [name, count] : coverage.ops) ops_run += count;
  std::cout << "    " << sequences << " sequences, " << ops_run
            << " ops agreed; allocations: " << coverage.allocations_found << " found, "
            << coverage.allocations_failed << " failed\n";
  EXPECT_GT(coverage.allocations_found, sequences);
  EXPECT_GT(coverage.allocations_failed, sequences / 10);
}

// From 6.11 an empty array has no placeholder entry (cnt 0); the two models
// must agree on that build too.
TEST_P(BruteForceCrossCheck, models_agree_when_empty_arrays_have_no_dummy_entry) {
  Knobs later = knobs();
  later.empty_array_has_dummy = false;
  agree_on(variant(), later, sequence_count() / 6);
}

// The cross-check can fail: a brute force whose top-down allocations take the
// lowest fit instead of the highest is caught on an allocating op.
TEST_P(BruteForceCrossCheck, a_brute_force_allocating_from_the_wrong_end_is_caught) {
  Coverage coverage;
  std::optional<Mismatch> mismatch;
  for (std::uint64_t seed = 0; seed < 200 && !mismatch; ++seed)
    mismatch = cross_check(variant(), knobs(), seed, BruteForceModel::Flaw::top_down_takes_lowest,
                           coverage);
  ASSERT_TRUE(mismatch.has_value()) << "200 sequences never told the highest fit from the lowest";
  EXPECT_TRUE(Coverage::is_allocation(mismatch->op)) << mismatch->report;
}

MBFUZZ_EVERY_VARIANT(BruteForceCrossCheck);

}  // namespace
}  // namespace mbfuzz::oracle
