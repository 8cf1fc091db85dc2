// RapidCheck generators over the op vocabulary, biased to the edges where
// memblock's bugs live: ranges that touch, nest and overlap, page and
// alignment boundaries, 4 GiB, the top of the address space, and region
// arrays past their 128 initial entries. Every generator shrinks: op
// sequences toward fewer ops, numbers toward 0 and the first choices.
#pragma once

#include <rapidcheck.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <vector>

#include "core/op.hpp"
#include "core/trace.hpp"
#include "core/variant.hpp"

namespace mbfuzz::props {

inline constexpr Phys page = 4096;
inline constexpr Phys MiB = Phys{1} << 20;

// Where ranges are generated. `full` reaches the top of the 64-bit address
// space; `bounded` stays below 2^48, away from the wrap-arounds that are
// known divergences (docs/findings.md), for properties that are about
// something else; `low` keeps ranges below 4 GiB (addresses below 2 GiB,
// sizes up to 1 GiB), inside a 32-bit phys_addr_t without wrapping.
enum class Space { full, bounded, low };

// The bounded space of a variant: below 2^48, or below 4 GiB for 32 bits.
inline Space bounded_for(const Variant& v) { return v.build().phys_bits == 64 ? Space::bounded : Space::low; }

inline Phys top_of(Space space) {
  return space == Space::full ? ~Phys{0} : space == Space::bounded ? Phys{1} << 48 : Phys{1} << 31;
}

// A variant: numa64 first, so that counterexamples shrink toward it.
inline rc::Gen<const Variant*> variant() {
  std::vector<const Variant*> all;
  for (const Variant& v : all_variants()) all.push_back(&v);
  return rc::gen::elementOf(all);
}

// An address: mostly on a small grid of MiB-aligned slots (so that ranges
// meet), sometimes a page or a byte off, at 4 GiB, or near the top.
inline rc::Gen<Phys> address(Space space = Space::full) {
  const Phys top = top_of(space);
  return rc::gen::weightedOneOf<Phys>({
      {6, rc::gen::map(rc::gen::inRange<Phys>(0, 64), [](Phys slot) { return slot * MiB; })},
      {2, rc::gen::map(rc::gen::pair(rc::gen::inRange<Phys>(0, 64), rc::gen::inRange<Phys>(0, 256)),
                       [](std::pair<Phys, Phys> p) { return p.first * MiB + p.second * page; })},
      {1, rc::gen::inRange<Phys>(0, 64 * MiB)},
      {1, rc::gen::map(rc::gen::element<Phys>(Phys{1} << 32, (Phys{1} << 32) - page, (Phys{1} << 32) - 1),
                       [top](Phys a) { return std::min(a, top - page); })},
      {1, rc::gen::map(rc::gen::inRange<Phys>(1, 64), [top](Phys k) { return top - k * page; })},
  });
}

// A size: whole pages and MiBs mostly, sometimes odd, sometimes huge.
inline rc::Gen<Phys> size(Space space = Space::full) {
  const Phys huge = space == Space::full ? ~Phys{0} : space == Space::bounded ? Phys{1} << 40 : Phys{1} << 30;
  return rc::gen::weightedOneOf<Phys>({
      {5, rc::gen::map(rc::gen::inRange<Phys>(1, 17), [](Phys n) { return n * MiB; })},
      {3, rc::gen::map(rc::gen::inRange<Phys>(1, 64), [](Phys n) { return n * page; })},
      {1, rc::gen::inRange<Phys>(1, 4 * MiB)},
      {1, rc::gen::element(huge, std::min(huge, Phys{1} << 32))},
  });
}

// 0 (SMP_CACHE_BYTES) or a power of two from 1 byte to 1 GiB.
inline rc::Gen<Phys> alignment() {
  return rc::gen::weightedOneOf<Phys>({
      {2, rc::gen::just<Phys>(0)},
      {5, rc::gen::map(rc::gen::inRange(12, 22), [](int k) { return Phys{1} << k; })},
      {1, rc::gen::map(rc::gen::inRange(0, 31), [](int k) { return Phys{1} << k; })},
  });
}

inline rc::Gen<Nid> nid() {
  return rc::gen::map(rc::gen::weightedOneOf<int>({{3, rc::gen::just(Nid::no_node)}, {4, rc::gen::inRange(0, 4)},
                                                   {1, rc::gen::inRange(0, 17)}}),
                      [](int n) { return Nid{n}; });
}

inline rc::Gen<Flags> flags() {
  return rc::gen::map(rc::gen::weightedOneOf<std::uint32_t>({{4, rc::gen::just<std::uint32_t>(0)},
                                                             {3, rc::gen::inRange<std::uint32_t>(0, 16)}}),
                      [](std::uint32_t bits) { return Flags{bits}; });
}

inline rc::Gen<Limit> limit(Space space) {
  return rc::gen::weightedOneOf<Limit>({
      {2, rc::gen::element(Limit{Limit::anywhere}, Limit{Limit::accessible})},
      {2, rc::gen::map(address(space), [](Phys a) { return Limit{a}; })},
  });
}

// One value for a field, by its type and name.
template <class T>
rc::Gen<T> field(std::string_view name, Space space) {
  if constexpr (std::is_same_v<T, bool>) return rc::gen::arbitrary<bool>();
  else if constexpr (std::is_same_v<T, Nid>) return nid();
  else if constexpr (std::is_same_v<T, Flags>) return flags();
  else if constexpr (std::is_same_v<T, RegionType>) return rc::gen::element(RegionType::memory, RegionType::reserved);
  else if constexpr (std::is_same_v<T, Limit>) return limit(space);
  else if constexpr (std::is_same_v<T, std::optional<Phys>>)
    return rc::gen::map(address(space), [](Phys a) { return std::optional<Phys>(a); });
  else {
    if (name == "size" || name == "limit") return size(space);
    if (name == "align") return alignment();
    if (name == "pfn" || name == "max_low_pfn")
      return rc::gen::map(address(space), [](Phys a) { return a / page; });
    return address(space);
  }
}

// One op of kind OpT with every field generated.
template <class OpT>
rc::Gen<Op> op_of(Space space) {
  return rc::gen::exec([space] {
    OpT op{};
    std::apply([&](const auto&... f) { ((op.*f.member = *field<std::decay_t<decltype(op.*f.member)>>(f.name, space)), ...); },
               OpT::fields());
    return Op{op};
  });
}

// Any of memblock's ops; `discard` (after which every call is refused) rarely.
template <std::size_t... I>
rc::Gen<Op> any_op(Space space, std::index_sequence<I...>) {
  return rc::gen::weightedOneOf<Op>(
      {{std::is_same_v<std::variant_alternative_t<I, Op>, Discard> ? 1u
        : std::is_same_v<std::variant_alternative_t<I, Op>, Add> ||
                std::is_same_v<std::variant_alternative_t<I, Op>, Reserve>
            ? 12u
            : 4u,
        op_of<std::variant_alternative_t<I, Op>>(space)}...});
}
inline rc::Gen<Op> any_op(Space space = Space::full) {
  return any_op(space, std::make_index_sequence<memblock_op_kinds>{});
}

// The boot layouts of real machines (corpus/boot/traces: device trees of
// the kernel tree, real e820 maps) that lie in `space`: every range below
// its top. memblock_trim_memory() is left out (x86 trims after adding the
// e820 map): in 6.1 it keeps total_size, the known divergence
// trim-memory-total-size, which every property would otherwise report on
// each unaligned bank; a removal starting at or above the top (arm64
// removes memory above its physical address bits) removes nothing there.
inline const std::vector<std::vector<Op>>& real_layouts(Space space) {
  static const auto all = [] {
    std::vector<std::filesystem::path> files;
    std::filesystem::path root = std::filesystem::path(MBFUZZ_SOURCE_DIR) / "corpus/boot/traces";
    if (std::filesystem::exists(root))
      for (const auto& entry : std::filesystem::recursive_directory_iterator(root))
        if (entry.path().extension() == ".trace") files.push_back(entry.path());
    std::sort(files.begin(), files.end());  // the same order on every machine: seeds reproduce
    std::vector<std::vector<Op>> layouts;
    for (const auto& file : files) layouts.push_back(read_trace(file).ops);
    return layouts;
  }();
  static std::optional<std::vector<std::vector<Op>>> by_space[3];
  std::optional<std::vector<std::vector<Op>>>& cached = by_space[static_cast<int>(space)];
  if (cached) return *cached;
  std::vector<std::vector<Op>>& fitting = cached.emplace();
  for (const std::vector<Op>& layout : all) {
    std::vector<Op> kept;
    bool fits = true;
    for (const Op& op : layout)
      std::visit(
          [&](const auto& o) {
            using T = std::decay_t<decltype(o)>;
            if constexpr (std::is_same_v<T, TrimMemory>) {
              return;
            } else if constexpr (requires { o.base; o.size; }) {
              const Phys top = top_of(space);
              if (space == Space::full) {
                // every range lies in the full space
              } else if (std::is_same_v<T, Remove> && o.base >= top) {
                return;
              } else {
                fits = fits && o.base < top && o.size <= top - o.base;
              }
            }
            kept.push_back(op);
          },
          op);
    if (fits) fitting.push_back(std::move(kept));
  }
  return fitting;
}

// Memory first (or allocations have nowhere to go): a few ranges, or now and
// then a real machine's boot layout; then any ops; now and then,
// allow_resize and enough disjoint ranges to double a region array.
inline rc::Gen<std::vector<Op>> sequence(Space space = Space::full) {
  return rc::gen::exec([space] {
    const auto& real = real_layouts(space);
    std::vector<Op> ops =
        !real.empty() && *rc::gen::weightedOneOf<bool>({{3, rc::gen::just(false)}, {1, rc::gen::just(true)}})
            ? *rc::gen::elementOf(real)
            : *rc::gen::container<std::vector<Op>>(*rc::gen::inRange(1, 4), op_of<Add>(space));
    if (*rc::gen::weightedOneOf<bool>({{6, rc::gen::just(false)}, {1, rc::gen::just(true)}})) {
      ops.push_back(AllowResize{});
      const bool reserve = *rc::gen::arbitrary<bool>();
      for (Phys i = 0; i < 130; ++i) {
        const Phys base = 0x1000000 + 3 * i * page;
        ops.push_back(reserve ? Op{Reserve{base, 2 * page}} : Op{Add{base, 2 * page}});
      }
    }
    const bool arrays_may_move = ops.size() > 100;
    for (const Op& op : *rc::gen::container<std::vector<Op>>(any_op(space))) {
      // Once a region array may have moved into memory, no op that can drop
      // its reservation: a free of it is the caller's error (outside the
      // specification), a memory limit drops it (the known divergence
      // truncation-unreserves-region-array); see docs/findings.md.
      if (arrays_may_move &&
          (std::holds_alternative<PhysFree>(op) || std::holds_alternative<Free>(op) ||
           std::holds_alternative<EnforceMemoryLimit>(op) || std::holds_alternative<CapMemoryRange>(op) ||
           std::holds_alternative<MemLimitRemoveMap>(op)))
        continue;
      ops.push_back(op);
    }
    return ops;
  });
}

// Ops that only add memory and reservations: states to start a property from.
inline rc::Gen<std::vector<Op>> layout(Space space) {
  return rc::gen::container<std::vector<Op>>(
      rc::gen::weightedOneOf<Op>({{3, op_of<Add>(space)}, {2, op_of<Reserve>(space)}, {1, op_of<AddNode>(space)},
                                  {1, op_of<MarkNomap>(space)}}));
}

}  // namespace mbfuzz::props
