#include "core/decode.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <array>
#include <bit>
#include <optional>
#include <string_view>
#include <utility>

namespace mbfuzz {
namespace {

constexpr Phys page = 4096;

// ---- which op a selector byte means --------------------------------------------

// Selectors from here up start a burst; below, they index the op table.
constexpr std::uint8_t first_burst_selector = 0xF0;

// How often each op kind is drawn in a vocabulary. memblock's: the calls
// that shape the region arrays most, more often; discard (after which every
// call is refused) seldom; bootmem's calls never. bootmem's: its own calls
// only, free_all_bootmem (after which every call is refused) seldom.
template <class T>
constexpr unsigned bootmem_weight() {
  if constexpr (!is_bootmem_op_v<T>) return 0;
  else if constexpr (std::is_same_v<T, FreeBootmem> || std::is_same_v<T, ReserveBootmem>) return 5;
  else if constexpr (std::is_same_v<T, AllocBootmem> || std::is_same_v<T, InitBootmemNode>) return 4;
  else if constexpr (std::is_same_v<T, FreeAllBootmem>) return 1;
  else return 2;
}

template <class T>
constexpr unsigned memblock_weight() {
  if constexpr (is_bootmem_op_v<T>) return 0;
  else if constexpr (std::is_same_v<T, Add> || std::is_same_v<T, Reserve>) return 8;
  else if constexpr (std::is_same_v<T, Remove> || std::is_same_v<T, PhysFree> ||
                     std::is_same_v<T, AddNode>)
    return 5;
  else if constexpr (std::is_same_v<T, Discard> || std::is_same_v<T, SetSlabAvailable>) return 1;
  else if constexpr (std::is_same_v<T, PhysAlloc> || std::is_same_v<T, PhysAllocRange> ||
                     std::is_same_v<T, PhysAllocTryNid> || std::is_same_v<T, AllocRangeNid> ||
                     std::is_same_v<T, Alloc> || std::is_same_v<T, AllocRaw> ||
                     std::is_same_v<T, AllocFrom> || std::is_same_v<T, AllocLow> ||
                     std::is_same_v<T, AllocNode> || std::is_same_v<T, AllocTryNid> ||
                     std::is_same_v<T, AllocTryNidRaw> || std::is_same_v<T, AllocExactNidRaw> ||
                     std::is_same_v<T, Free> || std::is_same_v<T, MarkNomap> ||
                     std::is_same_v<T, SetNode>)
    return 3;
  else return 2;
}

template <Vocabulary V, class T>
constexpr unsigned weight() {
  return V == Vocabulary::memblock ? memblock_weight<T>() : bootmem_weight<T>();
}

template <Vocabulary V, std::size_t... I>
constexpr std::size_t total_weight(std::index_sequence<I...>) {
  return (weight<V, std::variant_alternative_t<I, Op>>() + ...);
}
template <Vocabulary V>
constexpr std::size_t op_table_size = total_weight<V>(std::make_index_sequence<std::variant_size_v<Op>>{});
static_assert(op_table_size<Vocabulary::memblock> <= first_burst_selector,
              "every op kind needs a selector below the bursts");

// Variant index of the op each table slot stands for.
template <Vocabulary V, std::size_t... I>
constexpr std::array<std::uint8_t, op_table_size<V>> make_op_table(std::index_sequence<I...>) {
  std::array<std::uint8_t, op_table_size<V>> table{};
  std::size_t slot = 0;
  ((std::fill_n(table.begin() + static_cast<std::ptrdiff_t>(slot),
                weight<V, std::variant_alternative_t<I, Op>>(), static_cast<std::uint8_t>(I)),
    slot += weight<V, std::variant_alternative_t<I, Op>>()),
   ...);
  return table;
}
template <Vocabulary V>
constexpr auto op_table = make_op_table<V>(std::make_index_sequence<std::variant_size_v<Op>>{});

// The op kind a selector byte stands for: memblock's selectors from
// first_burst_selector up start a burst instead; bootmem has no bursts.
std::uint8_t op_of_selector(Vocabulary v, std::uint8_t selector) {
  if (v == Vocabulary::memblock) return op_table<Vocabulary::memblock>[selector % op_table_size<Vocabulary::memblock>];
  return op_table<Vocabulary::bootmem>[selector % op_table_size<Vocabulary::bootmem>];
}

// ---- value modes (docs/byte-format.md, "Values") ----------------------------------

enum Mode : std::uint8_t {
  recent = 0,        // an earlier op's address, size or end
  recent_nudged = 1, // the same, moved by a signed number of pages
  few_pages = 2,     // 0..31 pages
  many_pages = 3,    // a 16-bit count of pages
  power_of_two = 4,  // 2^k, 2^k - 1, 2^k + one page, 2^k - one page
  near_top = 5,      // just below 2^64 or 2^32
  raw32 = 6,
  raw64 = 7,
};

// What a Phys field holds, by its name: an alignment and a page frame
// number are drawn and written differently from addresses and sizes.
enum class Role { amount, align, pfn };

constexpr Role role_of(std::string_view field) {
  if (field == "align") return Role::align;
  if (field.ends_with("pfn")) return Role::pfn;  // pfn, max_low_pfn, start_pfn, ...
  return Role::amount;
}

// ---- decoding ----------------------------------------------------------------------

class Decoder {
 public:
  Decoder(std::span<const std::uint8_t> bytes, Vocabulary vocabulary)
      : bytes_(bytes), vocabulary_(vocabulary) {}

  std::vector<Op> run() {
    std::vector<Op> ops;
    while (pos_ < bytes_.size() && ops.size() < max_decoded_ops) {
      const std::uint8_t selector = u8();
      if (vocabulary_ == Vocabulary::memblock && selector >= first_burst_selector) {
        burst(ops);
      } else {
        ops.push_back(make(op_of_selector(vocabulary_, selector)));
        remember(ops.back());
      }
    }
    if (ops.size() > max_decoded_ops) ops.resize(max_decoded_ops);
    return ops;
  }

 private:
  // Missing bytes at the end read as zero: every input decodes.
  std::uint8_t u8() { return pos_ < bytes_.size() ? bytes_[pos_++] : 0; }
  std::uint64_t little_endian(int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t{u8()} << (8 * i);
    return v;
  }

  Phys value() {
    const std::uint8_t b = u8();
    const unsigned param = b >> 3;
    switch (static_cast<Mode>(b & 7)) {
      case recent:
        return recent_.empty() ? param * page : recent_[param % recent_.size()];
      case recent_nudged: {
        const Phys base = recent_.empty() ? 0 : recent_[param % recent_.size()];
        return base + static_cast<Phys>(static_cast<std::int8_t>(u8())) * page;
      }
      case few_pages: return param * page;
      case many_pages: return little_endian(2) * page;
      case power_of_two: {
        const Phys p = Phys{1} << (u8() % 64);
        switch (param % 4) {
          case 0: return p;
          case 1: return p - 1;
          case 2: return p + page;
          default: return p - page;
        }
      }
      case near_top: {
        const Phys top = param & 16 ? Phys{1} << 32 : 0;  // 0 is 2^64, wrapped
        return top - u8() * (param & 1 ? 1 : page);
      }
      case raw32: return little_endian(4);
      case raw64: return little_endian(8);
    }
    return 0;
  }

  Phys align() {
    const unsigned m = u8() % 64;
    if (m == 0) return 0;
    if (m < 48) return Phys{1} << (m - 1);
    if (m < 63) return Phys{1} << (m - 48 + 12);  // page to 64 MiB, drawn twice as often
    return value();  // rarely, any value: not a power of two is outside the specification
  }

  Limit limit() {
    switch (u8() % 4) {
      case 0: return Limit{Limit::anywhere};
      case 1: return Limit{Limit::accessible};
      case 2: return Limit{Limit::noleaktrace};
      default: return Limit{value()};
    }
  }

  Nid nid() {
    const std::uint8_t b = u8();
    if (b < 0xF0) return Nid{b % 18 - 1};  // NUMA_NO_NODE, 0 .. MAX_NUMNODES
    return Nid{static_cast<int>(static_cast<std::uint32_t>(little_endian(4)))};
  }

  Flags flags() {
    const std::uint8_t b = u8();
    if (b < 0xF0) return Flags{b & 0xFu};
    return Flags{static_cast<std::uint32_t>(little_endian(4))};
  }

  std::uint64_t pfn() { return u8() & 1 ? value() / page : value(); }

  template <class OpT, class T>
  void field(OpT& op, const Field<OpT, T>& f) {
    T& out = op.*f.member;
    if constexpr (std::is_same_v<T, Phys>) {
      switch (role_of(f.name)) {
        case Role::align: out = align(); break;
        case Role::pfn: out = pfn(); break;
        case Role::amount: out = value(); break;
      }
    } else if constexpr (std::is_same_v<T, Limit>) out = limit();
    else if constexpr (std::is_same_v<T, Nid>) out = nid();
    else if constexpr (std::is_same_v<T, Flags>) out = flags();
    else if constexpr (std::is_same_v<T, bool>) out = u8() & 1;
    else if constexpr (std::is_same_v<T, RegionType>) out = u8() & 1 ? RegionType::reserved : RegionType::memory;
    else if constexpr (std::is_same_v<T, std::optional<Phys>>) out = u8() & 1 ? std::optional(value()) : std::nullopt;
    else static_assert(sizeof(T) == 0, "a field type without a byte decoding");
  }

  template <std::size_t I = 0>
  Op make(std::size_t index) {
    if constexpr (I < std::variant_size_v<Op>) {
      if (index != I) return make<I + 1>(index);
      using OpT = std::variant_alternative_t<I, Op>;
      OpT op{};
      std::apply([&](const auto&... f) { (field(op, f), ...); }, OpT::fields());
      return op;
    } else {
      return Op{};
    }
  }

  // Earlier ops' addresses, sizes and ends: later ops touch, nest and overlap them.
  void remember(const Op& op) {
    std::visit(
        [&](const auto& o) {
          std::optional<Phys> base, size;
          std::apply([&](const auto&... f) { (remember_field(o, f, base, size), ...); },
                     std::decay_t<decltype(o)>::fields());
          if (base && size) push(*base + *size);
        },
        op);
  }

  template <class OpT, class T>
  void remember_field(const OpT& op, const Field<OpT, T>& f, std::optional<Phys>& base,
                      std::optional<Phys>& size) {
    if constexpr (std::is_same_v<T, Phys>) {
      if (role_of(f.name) != Role::amount) return;
      push(op.*f.member);
      if (f.name == "base") base = op.*f.member;
      if (f.name == "size") size = op.*f.member;
    }
  }

  void push(Phys v) {
    if (recent_.size() < recent_capacity) recent_.push_back(v);
    else recent_[next_++ % recent_capacity] = v;
  }

  // Many ops from a few bytes: `count` ranges at base + i * stride, enough to
  // fill a region array past INIT_MEMBLOCK_REGIONS.
  void burst(std::vector<Op>& ops) {
    const std::uint8_t kind = u8();
    const unsigned count = u8() + 1u;
    const Phys base = value(), size = value();
    Phys stride = std::max(value(), size);
    const Nid node{(kind >> 2) % 18 - 1};
    const Phys alignment = kind % 4 == 3 ? align() : 0;
    for (unsigned i = 0; i < count && ops.size() < max_decoded_ops; ++i) {
      const Phys at = base + i * stride;
      switch (kind % 4) {
        case 0: ops.push_back(Add{.base = at, .size = size}); break;
        case 1: ops.push_back(Reserve{.base = at, .size = size}); break;
        case 2: ops.push_back(AddNode{.base = at, .size = size, .nid = node, .flags = {}}); break;
        default: ops.push_back(PhysAlloc{.size = size, .align = alignment}); break;
      }
    }
    push(base);
    push(size);
    push(base + count * stride);
  }

  static constexpr std::size_t recent_capacity = 64;
  std::span<const std::uint8_t> bytes_;
  Vocabulary vocabulary_;
  std::size_t pos_ = 0;
  std::vector<Phys> recent_;
  std::size_t next_ = 0;
};

// ---- encoding: the raw form of every field -------------------------------------------

class Encoder {
 public:
  explicit Encoder(Vocabulary vocabulary) : vocabulary_(vocabulary) {}

  std::vector<std::uint8_t> bytes;

  void op(const Op& op) {
    std::visit(
        [&](const auto& o) {
          using OpT = std::decay_t<decltype(o)>;
          bytes.push_back(selector(op.index()));
          std::apply([&](const auto&... f) { (field(o, f), ...); }, OpT::fields());
        },
        op);
  }

 private:
  std::uint8_t selector(std::size_t index) const {
    auto in = [&](const auto& table) {
      const auto* slot = std::find(table.begin(), table.end(), index);
      if (slot == table.end())
        throw std::invalid_argument(fmt::format("{} is not in the {} vocabulary", op_name(op_kind(index)),
                                                vocabulary_name(vocabulary_)));
      return static_cast<std::uint8_t>(slot - table.begin());
    };
    return vocabulary_ == Vocabulary::memblock ? in(op_table<Vocabulary::memblock>) : in(op_table<Vocabulary::bootmem>);
  }
  static Op op_kind(std::size_t index) {
    Op op;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((index == I ? (op = std::variant_alternative_t<I, Op>{}, 0) : 0), ...);
    }(std::make_index_sequence<std::variant_size_v<Op>>{});
    return op;
  }

  Vocabulary vocabulary_;

  void little_endian(std::uint64_t v, int count) {
    for (int i = 0; i < count; ++i) bytes.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void value(Phys v) {
    bytes.push_back(raw64);
    little_endian(v, 8);
  }

  template <class OpT, class T>
  void field(const OpT& op, const Field<OpT, T>& f) {
    const T& v = op.*f.member;
    if constexpr (std::is_same_v<T, Phys>) {
      switch (role_of(f.name)) {
        case Role::align:
          if (v == 0) bytes.push_back(0);
          else if (std::has_single_bit(v) && std::countr_zero(v) < 47)
            bytes.push_back(static_cast<std::uint8_t>(std::countr_zero(v) + 1));
          else {
            bytes.push_back(63);
            value(v);
          }
          break;
        case Role::pfn:
          bytes.push_back(0);  // taken as it is, not as an address
          value(v);
          break;
        case Role::amount: value(v); break;
      }
    } else if constexpr (std::is_same_v<T, Limit>) {
      bytes.push_back(3);
      value(v.value);
    } else if constexpr (std::is_same_v<T, Nid>) {
      if (v.value >= -1 && v.value <= 16) bytes.push_back(static_cast<std::uint8_t>(v.value + 1));
      else {
        bytes.push_back(0xF0);
        little_endian(static_cast<std::uint32_t>(v.value), 4);
      }
    } else if constexpr (std::is_same_v<T, Flags>) {
      if (v.bits <= 0xF) bytes.push_back(static_cast<std::uint8_t>(v.bits));
      else {
        bytes.push_back(0xF0);
        little_endian(v.bits, 4);
      }
    } else if constexpr (std::is_same_v<T, bool>) bytes.push_back(v ? 1 : 0);
    else if constexpr (std::is_same_v<T, RegionType>) bytes.push_back(v == RegionType::reserved ? 1 : 0);
    else if constexpr (std::is_same_v<T, std::optional<Phys>>) {
      bytes.push_back(v ? 1 : 0);
      if (v) value(*v);
    } else static_assert(sizeof(T) == 0, "a field type without a byte encoding");
  }
};

}  // namespace

std::string_view vocabulary_name(Vocabulary v) { return v == Vocabulary::memblock ? "memblock" : "bootmem"; }

Vocabulary vocabulary_of(std::span<const Op> ops) {
  return std::any_of(ops.begin(), ops.end(), is_bootmem_op) ? Vocabulary::bootmem : Vocabulary::memblock;
}

std::vector<Op> decode_ops(std::span<const std::uint8_t> bytes, Vocabulary vocabulary) {
  return Decoder(bytes, vocabulary).run();
}

std::vector<std::uint8_t> encode_ops(std::span<const Op> ops) {
  Encoder encoder(vocabulary_of(ops));
  for (const Op& op : ops.first(std::min(ops.size(), max_decoded_ops))) encoder.op(op);
  return std::move(encoder.bytes);
}

}  // namespace mbfuzz
