#include "core/trace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

namespace mbfuzz {

TraceError::TraceError(std::string file, int line, int column, std::string message)
    : std::runtime_error(fmt::format("{}:{}:{}: {}", file, line, column, message)),
      file_(std::move(file)),
      line_(line),
      column_(column),
      message_(std::move(message)) {}

namespace {

// ---- values: one codec per field type ------------------------------------------

struct Named {
  std::string_view name;
  std::uint64_t value;
};

constexpr std::array limit_names{Named{"ANYWHERE", Limit::anywhere},
                                 Named{"ACCESSIBLE", Limit::accessible},
                                 Named{"NOLEAKTRACE", Limit::noleaktrace}};

constexpr std::array flag_names{Named{"HOTPLUG", Flags::hotplug}, Named{"MIRROR", Flags::mirror},
                                Named{"NOMAP", Flags::nomap},
                                Named{"DRIVER_MANAGED", Flags::driver_managed}};

// Parse failures carry a message; the caller knows where the text was.
using ParseResult = std::optional<std::string>;  // empty: success

ParseResult parse_number(std::string_view text, std::uint64_t& out) {
  if (text == "PHYS_ADDR_MAX") {
    out = ~std::uint64_t{0};
    return {};
  }
  int base = 10;
  std::string_view digits = text;
  if (digits.starts_with("0x") || digits.starts_with("0X")) {
    base = 16;
    digits.remove_prefix(2);
  }
  unsigned shift = 0;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      case 'T': shift = 40; break;
      default: break;
    }
    if (shift) digits.remove_suffix(1);
  }
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (digits.empty() || ec == std::errc::invalid_argument || end != digits.data() + digits.size())
    return fmt::format("expected a number, got '{}'", text);
  if (ec == std::errc::result_out_of_range || (shift && value > (~std::uint64_t{0} >> shift)))
    return fmt::format("number '{}' does not fit in 64 bits", text);
  out = value << shift;
  return {};
}

std::string format_number(std::uint64_t v) { return v == 0 ? "0" : fmt::format("{:#x}", v); }

template <class T>
struct Codec;

template <>
struct Codec<std::uint64_t> {
  static ParseResult parse(std::string_view text, std::uint64_t& out) { return parse_number(text, out); }
  static std::string format(std::uint64_t v) { return format_number(v); }
};

template <>
struct Codec<Limit> {
  static ParseResult parse(std::string_view text, Limit& out) {
    for (const Named& n : limit_names)
      if (text == n.name) {
        out.value = n.value;
        return {};
      }
    return parse_number(text, out.value);
  }
  static std::string format(Limit v) {
    for (const Named& n : limit_names)
      if (v.value == n.value) return std::string(n.name);
    return format_number(v.value);
  }
};

template <>
struct Codec<Nid> {
  static ParseResult parse(std::string_view text, Nid& out) {
    if (text == "NUMA_NO_NODE") {
      out.value = Nid::no_node;
      return {};
    }
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out.value);
    if (ec != std::errc{} || end != text.data() + text.size())
      return fmt::format("expected a node id or NUMA_NO_NODE, got '{}'", text);
    return {};
  }
  static std::string format(Nid v) {
    return v.value == Nid::no_node ? "NUMA_NO_NODE" : fmt::format("{}", v.value);
  }
};

template <>
struct Codec<Flags> {
  static ParseResult parse(std::string_view text, Flags& out) {
    if (text == "NONE") {
      out.bits = Flags::none;
      return {};
    }
    std::uint64_t number = 0;
    if (!parse_number(text, number)) {
      if (number > 0xffffffffu) return fmt::format("flags '{}' do not fit in 32 bits", text);
      out.bits = static_cast<std::uint32_t>(number);
      return {};
    }
    out.bits = 0;
    while (!text.empty()) {
      auto bar = text.find('|');
      auto word = text.substr(0, bar);
      bool known = false;
      for (const Named& n : flag_names)
        if (word == n.name) {
          out.bits |= static_cast<std::uint32_t>(n.value);
          known = true;
        }
      if (!known)
        return fmt::format("unknown flag '{}' (NONE, HOTPLUG, MIRROR, NOMAP, DRIVER_MANAGED)", word);
      text = bar == std::string_view::npos ? std::string_view{} : text.substr(bar + 1);
      if (bar != std::string_view::npos && text.empty()) return "flag expected after '|'";
    }
    return {};
  }
  static std::string format(Flags v) {
    if (v.bits == Flags::none) return "NONE";
    std::string out;
    std::uint32_t rest = v.bits;
    for (const Named& n : flag_names)
      if (rest & n.value) {
        out += out.empty() ? "" : "|";
        out += n.name;
        rest &= ~static_cast<std::uint32_t>(n.value);
      }
    if (rest) {
      if (!out.empty()) return format_number(v.bits);  // unknown bits: the number says it all
      out = format_number(rest);
    }
    return out;
  }
};

template <>
struct Codec<bool> {
  static ParseResult parse(std::string_view text, bool& out) {
    if (text == "true" || text == "on") out = true;
    else if (text == "false" || text == "off") out = false;
    else return fmt::format("expected true or false, got '{}'", text);
    return {};
  }
  static std::string format(bool v) { return v ? "true" : "false"; }
};

template <>
struct Codec<RegionType> {
  static ParseResult parse(std::string_view text, RegionType& out) {
    if (text == "memory") out = RegionType::memory;
    else if (text == "reserved") out = RegionType::reserved;
    else return fmt::format("expected memory or reserved, got '{}'", text);
    return {};
  }
  static std::string format(RegionType v) { return v == RegionType::memory ? "memory" : "reserved"; }
};

template <>
struct Codec<std::optional<Phys>> {
  static ParseResult parse(std::string_view text, std::optional<Phys>& out) {
    if (text == "NULL") {
      out.reset();
      return {};
    }
    Phys v = 0;
    if (auto error = parse_number(text, v)) return error;
    out = v;
    return {};
  }
  static std::string format(const std::optional<Phys>& v) { return v ? format_number(*v) : "NULL"; }
};

// ---- ops ---------------------------------------------------------------------------

struct Token {
  std::string_view text;
  int column;  // 1-based
};

std::vector<Token> tokenize(std::string_view line) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (i < line.size()) {
    while (i < line.size() && space(line[i])) ++i;
    if (i == line.size() || line[i] == '#') break;
    std::size_t start = i;
    while (i < line.size() && !space(line[i]) && line[i] != '#') ++i;
    tokens.push_back(Token{line.substr(start, i - start), static_cast<int>(start) + 1});
  }
  return tokens;
}

class LineParser {
 public:
  LineParser(std::string_view source, int line) : source_(source), line_(line) {}

  [[noreturn]] void fail(int column, const std::string& message) const {
    throw TraceError(std::string(source_), line_, column, message);
  }

  template <class OpT>
  OpT parse(const Token& keyword, std::span<const Token> args) const {
    OpT op{};
    constexpr auto fields = OpT::fields();
    constexpr std::size_t count = std::tuple_size_v<decltype(fields)>;
    std::array<bool, count> seen{};
    bool keyword_form = !args.empty() && args.front().text.find('=') != std::string_view::npos;
    if (!keyword_form && args.size() > count)
      fail(args[count].column, fmt::format("'{}' takes {} field{}, got more", OpT::name, count,
                                           count == 1 ? "" : "s"));
    for (std::size_t a = 0; a < args.size(); ++a) {
      const Token& arg = args[a];
      auto eq = arg.text.find('=');
      if (keyword_form != (eq != std::string_view::npos))
        fail(arg.column, "positional and name=value fields cannot be mixed");
      std::string_view name = keyword_form ? arg.text.substr(0, eq) : std::string_view{};
      std::string_view text = keyword_form ? arg.text.substr(eq + 1) : arg.text;
      int value_column = arg.column + (keyword_form ? static_cast<int>(eq) + 1 : 0);
      bool matched = false;
      std::size_t index = 0;
      std::apply(
          [&](const auto&... field) {
            ((matched = matched || assign(op, field, index++, a, name, text, value_column, seen)),
             ...);
          },
          fields);
      if (!matched) fail(arg.column, fmt::format("'{}' has no field '{}'", OpT::name, name));
    }
    std::size_t index = 0;
    std::apply(
        [&](const auto&... field) {
          ((seen[index++] ? void() : fail(keyword.column + static_cast<int>(keyword.text.size()),
                                          fmt::format("'{}' needs field '{}'", OpT::name, field.name))),
           ...);
        },
        fields);
    return op;
  }

 private:
  template <class OpT, class T, std::size_t N>
  bool assign(OpT& op, const Field<OpT, T>& field, std::size_t index, std::size_t position,
              std::string_view name, std::string_view text, int column,
              std::array<bool, N>& seen) const {
    bool keyword_form = !name.empty();
    if (keyword_form ? field.name != name : index != position) return false;
    if (seen[index]) fail(column, fmt::format("field '{}' given twice", field.name));
    if (text.empty()) fail(column, fmt::format("field '{}' has no value", field.name));
    if (auto error = Codec<T>::parse(text, op.*field.member)) fail(column, *error);
    seen[index] = true;
    return true;
  }

  std::string_view source_;
  int line_;
};

template <std::size_t... I>
Op parse_op(const LineParser& parser, const Token& keyword, std::span<const Token> args,
            std::index_sequence<I...>) {
  std::optional<Op> op;
  ((std::variant_alternative_t<I, Op>::name == keyword.text
        ? void(op.emplace(parser.parse<std::variant_alternative_t<I, Op>>(keyword, args)))
        : void()),
   ...);
  if (!op) parser.fail(keyword.column, fmt::format("unknown operation '{}'", keyword.text));
  return std::move(*op);
}

// `[base-last]`, inclusive as the kernel's dumps print it: size is
// last - base + 1 modulo 2^64, so an empty region prints as [base-(base-1)].
ExpectedRegion parse_region(const LineParser& parser, const Token& token) {
  std::string_view text = token.text;
  auto dash = text.find('-');
  if (text.size() < 5 || text.front() != '[' || text.back() != ']' || dash == std::string_view::npos)
    parser.fail(token.column, fmt::format("expected a region [base-last], got '{}'", text));
  ExpectedRegion region;
  Phys last = 0;
  if (auto error = parse_number(text.substr(1, dash - 1), region.base)) parser.fail(token.column + 1, *error);
  if (auto error = parse_number(text.substr(dash + 1, text.size() - dash - 2), last))
    parser.fail(token.column + static_cast<int>(dash) + 1, *error);
  region.size = last - region.base + 1;
  return region;
}

// expect <type> [size=S] [base-last] [nid=N] [flags=F] ...
ExpectedArray parse_expected_array(const LineParser& parser, std::span<const Token> args) {
  ExpectedArray array;
  if (args.empty()) parser.fail(1, "'expect' needs a region type: memory or reserved");
  if (auto error = Codec<RegionType>::parse(args[0].text, array.type)) parser.fail(args[0].column, *error);
  bool nid_given = false, flags_given = false;
  for (const Token& arg : args.subspan(1)) {
    std::string_view text = arg.text;
    auto value_column = [&](std::string_view key) { return arg.column + static_cast<int>(key.size()); };
    if (text.starts_with('[')) {
      array.regions.push_back(parse_region(parser, arg));
      nid_given = flags_given = false;
    } else if (text.starts_with("size=")) {
      if (!array.regions.empty() || array.total_size) parser.fail(arg.column, "size= comes once, before the regions");
      Phys total = 0;
      if (auto error = parse_number(text.substr(5), total)) parser.fail(value_column("size="), *error);
      array.total_size = total;
    } else if (text.starts_with("nid=") || text.starts_with("flags=")) {
      bool is_nid = text.starts_with("nid=");
      if (array.regions.empty()) parser.fail(arg.column, "nid= and flags= follow the region they describe");
      bool& given = is_nid ? nid_given : flags_given;
      if (given) parser.fail(arg.column, fmt::format("{} given twice for one region", is_nid ? "nid" : "flags"));
      given = true;
      ExpectedRegion& region = array.regions.back();
      if (is_nid) {
        Nid nid;
        if (auto error = Codec<Nid>::parse(text.substr(4), nid)) parser.fail(value_column("nid="), *error);
        region.nid = nid.value;
      } else if (auto error = Codec<Flags>::parse(text.substr(6), region.flags)) {
        parser.fail(value_column("flags="), *error);
      }
    } else {
      parser.fail(arg.column, fmt::format("expected [base-last], size=, nid= or flags=, got '{}'", text));
    }
  }
  return array;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

}  // namespace

Trace parse_trace(std::string_view text, std::string_view source) {
  Trace trace;
  trace.source = std::string(source);
  int line_number = 0;
  while (!text.empty()) {
    ++line_number;
    auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    if (line.find('\0') != std::string_view::npos)
      throw TraceError(trace.source, line_number, static_cast<int>(line.find('\0')) + 1,
                       "NUL byte in a text trace");
    auto hash = line.find('#');
    std::string_view comment = hash == std::string_view::npos ? std::string_view{} : trim(line.substr(hash + 1));
    auto tokens = tokenize(line);
    LineParser parser(source, line_number);
    if (tokens.empty()) {
      if (hash != std::string_view::npos && trace.ops.empty() && trace.expected_arrays.empty())
        trace.header.emplace_back(comment);
      continue;
    }
    if (tokens.front().text == "expect") {
      ExpectedArray array = parse_expected_array(parser, std::span(tokens).subspan(1));
      array.after = trace.ops.size();
      array.line = line_number;
      trace.expected_arrays.push_back(std::move(array));
      continue;
    }
    std::span<const Token> args = std::span(tokens).subspan(1);
    std::optional<Phys> result;
    auto arrow = std::find_if(args.begin(), args.end(), [](const Token& t) { return t.text == "=>"; });
    if (arrow != args.end()) {
      std::size_t at = static_cast<std::size_t>(arrow - args.begin());
      if (at + 2 != args.size())
        parser.fail(arrow->column, "'=>' is followed by exactly one value, the expected address (0: failed)");
      Phys value = 0;
      if (auto error = parse_number(args[at + 1].text, value)) parser.fail(args[at + 1].column, *error);
      result = value;
      args = args.first(at);
    }
    std::size_t index = trace.ops.size();
    trace.ops.push_back(
        parse_op(parser, tokens.front(), args, std::make_index_sequence<std::variant_size_v<Op>>{}));
    trace.lines.push_back(line_number);
    if (result) trace.results[index] = *result;
    if (!comment.empty()) trace.comments[index] = std::string(comment);
  }
  return trace;
}

Trace read_trace(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TraceError(path.string(), 0, 0, "cannot open the trace file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_trace(text.str(), path.string());
}

std::string format_op(const Op& op) {
  return std::visit(
      [](const auto& o) {
        using OpT = std::decay_t<decltype(o)>;
        constexpr auto fields = OpT::fields();
        constexpr bool positional = std::tuple_size_v<decltype(fields)> <= 2;
        std::string out(OpT::name);
        std::apply(
            [&](const auto&... field) {
              ((out += fmt::format(" {}{}", positional ? "" : fmt::format("{}=", field.name),
                                   Codec<std::decay_t<decltype(o.*field.member)>>::format(
                                       o.*field.member))),
               ...);
            },
            fields);
        return out;
      },
      op);
}

std::string format_trace(std::span<const Op> ops) {
  std::string out;
  for (const Op& op : ops) {
    out += format_op(op);
    out += '\n';
  }
  return out;
}

std::string format_expected_array(const ExpectedArray& array) {
  std::string out = fmt::format("expect {}", Codec<RegionType>::format(array.type));
  if (array.total_size) out += fmt::format(" size={}", format_number(*array.total_size));
  for (const ExpectedRegion& r : array.regions) {
    out += fmt::format(" [{:#x}-{:#x}]", r.base, r.base + r.size - 1);
    if (r.nid) out += fmt::format(" nid={}", Codec<Nid>::format(Nid{*r.nid}));
    if (r.flags.bits != Flags::none) out += fmt::format(" flags={}", Codec<Flags>::format(r.flags));
  }
  return out;
}

std::string format_trace(const Trace& trace) {
  std::string out;
  for (const std::string& line : trace.header) out += line.empty() ? "#\n" : fmt::format("# {}\n", line);
  auto array = trace.expected_arrays.begin();
  for (std::size_t i = 0; i <= trace.ops.size(); ++i) {
    for (; array != trace.expected_arrays.end() && array->after == i; ++array)
      out += format_expected_array(*array) + '\n';
    if (i == trace.ops.size()) break;
    out += format_op(trace.ops[i]);
    if (auto r = trace.results.find(i); r != trace.results.end()) out += fmt::format(" => {}", format_number(r->second));
    if (auto c = trace.comments.find(i); c != trace.comments.end()) out += fmt::format("  # {}", c->second);
    out += '\n';
  }
  return out;
}

}  // namespace mbfuzz
