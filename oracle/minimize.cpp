#include "oracle/minimize.hpp"

#include <algorithm>
#include <bit>
#include <utility>

namespace mbfuzz::oracle {
namespace {

// How far a number is from round: set bits, or clear bits for a number near
// the top of the address space (PHYS_ADDR_MAX is as round as 0).
int cost(std::uint64_t v) { return std::min(std::popcount(v), 1 + std::popcount(~v)); }
bool simpler(std::uint64_t a, std::uint64_t b) { return cost(a) < cost(b) || (cost(a) == cost(b) && a < b); }

// Rounder numbers to try in place of v, roundest first.
std::vector<std::uint64_t> rounder(std::uint64_t v) {
  std::vector<std::uint64_t> c{0, ~std::uint64_t{0}};
  if (v) {
    c.push_back(std::bit_floor(v));
    c.push_back(v & (v - 1));                    // without the lowest set bit
    c.push_back(v & ~std::uint64_t{0xfff});      // whole pages
    c.push_back(v >> 1);
  }
  if (~v) {
    c.push_back(v | (v + 1));                    // with the lowest clear bit set
    if (v <= std::uint64_t{1} << 63) c.push_back(std::bit_ceil(v));
  }
  std::vector<std::uint64_t> out;
  for (std::uint64_t x : c)
    if (simpler(x, v) && std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
  std::sort(out.begin(), out.end(), simpler);
  return out;
}

class Shrinker {
 public:
  Shrinker(DifferentialExecutor& executor, std::string signature, std::size_t max_runs)
      : executor_(executor), signature_(std::move(signature)), max_runs_(max_runs) {}

  std::size_t runs() const { return runs_; }

  // Whether ops still diverge the same way; if so, ops is cut after the
  // diverging op.
  bool keeps(std::vector<Op>& ops) {
    if (runs_ >= max_runs_) return false;
    ++runs_;
    CheckResult result = executor_.check(ops);
    if (result.verdict != CheckResult::Verdict::diverged || result.divergence->signature() != signature_)
      return false;
    ops.resize(result.divergence->op_index + 1);
    return true;
  }

  void drop_ops(std::vector<Op>& ops) {
    for (std::size_t chunk = std::max<std::size_t>(ops.size() / 2, 1); chunk >= 1; chunk /= 2) {
      for (std::size_t i = 0; i < ops.size();) {
        std::vector<Op> candidate = ops;
        candidate.erase(candidate.begin() + static_cast<std::ptrdiff_t>(i),
                        candidate.begin() + static_cast<std::ptrdiff_t>(std::min(i + chunk, ops.size())));
        if (!candidate.empty() && keeps(candidate)) ops = std::move(candidate);
        else i += chunk;
      }
      if (chunk == 1) break;
    }
  }

  // One pass over every field of every op; true when something changed.
  bool round_values(std::vector<Op>& ops) {
    bool changed = false;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      std::visit(
          [&](const auto& original) {
            using OpT = std::decay_t<decltype(original)>;
            std::apply([&](const auto&... f) { ((changed = round_field<OpT>(ops, i, f) || changed), ...); },
                       OpT::fields());
          },
          ops[i]);
    }
    return changed;
  }

 private:
  // Tries rounder values for one field of ops[i] until none keeps the finding.
  template <class OpT, class T>
  bool round_field(std::vector<Op>& ops, std::size_t i, const Field<OpT, T>& f) {
    bool changed = false;
    for (bool improved = true; improved && i < ops.size();) {
      improved = false;
      const T current = std::get<OpT>(ops[i]).*f.member;
      for (const T& value : candidates(current)) {
        std::vector<Op> candidate = ops;
        std::get<OpT>(candidate[i]).*f.member = value;
        if (keeps(candidate)) {
          ops = std::move(candidate);
          improved = changed = true;
          break;
        }
      }
    }
    return changed;
  }

  static std::vector<std::uint64_t> candidates(std::uint64_t v) { return rounder(v); }
  static std::vector<Limit> candidates(Limit v) {
    std::vector<Limit> out;
    for (std::uint64_t x : rounder(v.value)) out.push_back(Limit{x});
    return out;
  }
  static std::vector<Nid> candidates(Nid v) {
    std::vector<Nid> out;
    for (int n : {Nid::no_node, 0, 1})
      if (n < v.value && n != v.value) out.push_back(Nid{n});
    if (v.value > 1) out.push_back(Nid{v.value / 2});
    return out;
  }
  static std::vector<Flags> candidates(Flags v) {
    std::vector<Flags> out{Flags{}};
    for (std::uint32_t bit = 1; bit && bit <= v.bits; bit <<= 1)
      if (v.bits & bit) out.push_back(Flags{v.bits & ~bit});
    if (v.bits == 0) out.clear();
    return out;
  }
  static std::vector<bool> candidates(bool v) { return v ? std::vector<bool>{false} : std::vector<bool>{}; }
  static std::vector<RegionType> candidates(RegionType v) {
    return v == RegionType::reserved ? std::vector{RegionType::memory} : std::vector<RegionType>{};
  }
  static std::vector<std::optional<Phys>> candidates(const std::optional<Phys>& v) {
    std::vector<std::optional<Phys>> out;
    if (v)
      for (std::uint64_t x : rounder(*v)) out.push_back(x);
    return out;
  }

  DifferentialExecutor& executor_;
  std::string signature_;
  std::size_t max_runs_;
  std::size_t runs_ = 0;
};

}  // namespace

std::optional<Minimized> minimize(DifferentialExecutor& executor, std::vector<Op> ops, std::size_t max_runs) {
  CheckResult first = executor.check(ops);
  if (first.verdict != CheckResult::Verdict::diverged) return std::nullopt;
  Shrinker shrinker(executor, first.divergence->signature(), max_runs);
  ops.resize(first.divergence->op_index + 1);
  // Dropping ops makes rounding cheaper, and rounding can make more ops
  // droppable: alternate until neither helps.
  do shrinker.drop_ops(ops);
  while (shrinker.round_values(ops));
  return Minimized{std::move(ops), first.divergence->signature(), shrinker.runs() + 1};
}

}  // namespace mbfuzz::oracle
