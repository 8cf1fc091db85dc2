// Random op sequences for tests that need many varied runs (reset,
// round-trips). Generic over the op vocabulary: every op kind, every field,
// drawn from value pools that make ranges touch, overlap and nest.
// The property-based generators live in props/; this one only needs to be
// varied and reproducible from a seed.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "core/op.hpp"

namespace mbfuzz::testing {

class RandomOps {
 public:
  explicit RandomOps(std::uint64_t seed) : rng_(seed) {}

  std::vector<Op> sequence(std::size_t length) {
    std::vector<Op> ops;
    // Most sequences start with memory, or allocations have nowhere to go.
    for (int i = 0; i < 3; ++i) ops.push_back(Add{.base = address(), .size = size()});
    if (chance(4)) {
      // Past INIT_MEMBLOCK_REGIONS: array doubling and its own reservation.
      ops.push_back(AllowResize{});
      for (Phys i = 0; i < 140; ++i) ops.push_back(Reserve{.base = (4 + 2 * i) * page, .size = page});
    }
    while (ops.size() < length) ops.push_back(any());
    return ops;
  }

  Op any() {
    Op op = choose(std::make_index_sequence<memblock_op_kinds>{});
    // A discard ends the run: every later op is refused. Keep it rare.
    if (std::holds_alternative<Discard>(op) && !chance(8)) return AllowResize{};
    return op;
  }

 private:
  static constexpr Phys page = 4096;

  bool chance(unsigned one_in) { return rng_() % one_in == 0; }

  Phys pick(std::initializer_list<Phys> values) {
    return *(values.begin() + rng_() % values.size());
  }

  Phys address() {
    switch (rng_() % 8) {
      case 0: return 0;
      case 1: return pick({page, 0x100000, 0xfffff000, 0x100000000, ~Phys{0} - 0xfff});
      case 2: return rng_() % (Phys{1} << 36);  // unaligned, anywhere
      default: return (rng_() % 64) * 0x100000 + pick({0, 0, page, 0x80000});
    }
  }

  Phys size() {
    switch (rng_() % 8) {
      case 0: return 0;
      case 1: return pick({1, page - 1, ~Phys{0}, Phys{1} << 32});
      case 2: return rng_() % 0x1000000;
      default: return (1 + rng_() % 16) * pick({page, 0x10000, 0x100000});
    }
  }

  template <class T>
  T value(std::string_view field) {
    if constexpr (std::is_same_v<T, bool>) {
      return chance(2);
    } else if constexpr (std::is_same_v<T, Nid>) {
      return Nid{static_cast<int>(rng_() % 20) - 1};
    } else if constexpr (std::is_same_v<T, Flags>) {
      return Flags{static_cast<std::uint32_t>(rng_() % 16)};
    } else if constexpr (std::is_same_v<T, RegionType>) {
      return chance(2) ? RegionType::memory : RegionType::reserved;
    } else if constexpr (std::is_same_v<T, Limit>) {
      return Limit{chance(2) ? pick({Limit::anywhere, Limit::accessible, Limit::noleaktrace}) : address()};
    } else if constexpr (std::is_same_v<T, std::optional<Phys>>) {
      return chance(8) ? std::nullopt : std::optional<Phys>{address()};
    } else {
      if (field == "size" || field == "limit") return size();
      if (field == "align") return pick({0, 1, 64, page, 0x200000, 0x40000000});
      if (field == "pfn" || field == "max_low_pfn") return rng_() % 0x40000;
      return address();
    }
  }

  template <class OpT>
  OpT make() {
    OpT op{};
    std::apply([&](const auto&... f) { ((op.*f.member = value<std::decay_t<decltype(op.*f.member)>>(f.name)), ...); },
               OpT::fields());
    return op;
  }

  template <std::size_t... I>
  Op choose(std::index_sequence<I...>) {
    using Maker = Op (*)(RandomOps*);
    static constexpr std::array<Maker, sizeof...(I)> makers{
        +[](RandomOps* self) -> Op { return self->make<std::variant_alternative_t<I, Op>>(); }...};
    return makers[rng_() % makers.size()](this);
  }

  std::mt19937_64 rng_;
};

}  // namespace mbfuzz::testing
