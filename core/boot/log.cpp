#include "core/boot/log.hpp"

#include <boost/icl/interval_set.hpp>
#include <boost/icl/right_open_interval.hpp>
#include <fmt/format.h>

#include <charconv>
#include <optional>
#include <regex>
#include <variant>
#include <vector>

namespace mbfuzz::boot {
namespace {

namespace icl = boost::icl;
using AddressSet = icl::interval_set<Phys, std::less, icl::right_open_interval<Phys>>;

// ---- the lines memblock=debug prints (mm/memblock.c, arch/x86/mm/numa.c) ----------

// memblock_add / _remove / _reserve / _phys_free / memblock_free_late:
//   "%s: [%pa-%pa] %pS"
struct RangeCall {
  std::string function;
  Phys base = 0;
  Phys size = 0;
  std::string caller;  // the symbol of %pS, without +offset/size
};

// memblock_add_node: "%s: [%pa-%pa] nid=%d flags=%x %pS"
struct AddNodeCall {
  Phys base = 0;
  Phys size = 0;
  int nid = 0;
  std::uint32_t flags = 0;
};

// memblock_phys_alloc_range, memblock_alloc_try_nid[_raw], memblock_alloc_exact_nid_raw:
//   "%s: %llu bytes align=0x%llx [nid=%d ]from=%pa max_addr=%pa %pS"
struct AllocRequest {
  Op op;
};

// "MEMBLOCK configuration:" and the lines of __memblock_dump_all.
struct Dump {
  ExpectedArray memory;
  ExpectedArray reserved;
};

// dummy_numa_init: "Faking a node at [mem %#018Lx-%#018Lx]"
struct FakeNode {
  Phys end = 0;  // exclusive
};

// alloc_node_data: "NODE_DATA(%d) allocated [mem %#010Lx-%#010Lx]"
struct NodeData {
  int nid = 0;
  Phys base = 0;
  Phys size = 0;
};

struct Event {
  int line = 0;
  std::variant<RangeCall, AddNodeCall, AllocRequest, Dump, FakeNode, NodeData> what;
};

class LogReader {
 public:
  LogReader(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  std::vector<Event> read() {
    while (next_line()) {
      std::smatch m;
      const std::string& s = message_;
      if (s.find("MEMBLOCK configuration:") != std::string::npos) {
        read_dump();
      } else if (std::regex_search(s, m, range_re_)) {
        Phys first = number(m, 2), last = number(m, 3);
        events_.push_back({line_, RangeCall{m.str(1), first, last - first + 1, m.str(4)}});
      } else if (std::regex_search(s, m, add_node_re_)) {
        Phys first = number(m, 1), last = number(m, 2);
        events_.push_back({line_, AddNodeCall{first, last - first + 1, integer(m, 3),
                                              static_cast<std::uint32_t>(number(m, 4, 16))}});
      } else if (std::regex_search(s, m, alloc_re_)) {
        events_.push_back({line_, AllocRequest{alloc_op(m)}});
      } else if (std::regex_search(s, m, fake_node_re_)) {
        events_.push_back({line_, FakeNode{number(m, 2) + 1}});
      } else if (std::regex_search(s, m, node_data_re_)) {
        Phys first = number(m, 2), last = number(m, 3);
        events_.push_back({line_, NodeData{integer(m, 1), first, last - first + 1}});
      } else if (std::regex_search(s, m, unknown_call_re_)) {
        // A memblock call line that matches no format above: a format this
        // reader does not know, or a line cut short; either way not silently skipped.
        fail(static_cast<int>(m.position(0)) + 1, fmt::format("a memblock line this reader cannot read: '{}'", s));
      }
    }
    return std::move(events_);
  }

  [[noreturn]] void fail(int column, const std::string& message) const {
    throw BootError(source_, fmt::format("{}:{}", line_, column_base_ + column), message);
  }

 private:
  // The next line's message, with a printk timestamp or syslog prefix cut off.
  bool next_line() {
    if (text_.empty()) return false;
    ++line_;
    auto newline = text_.find('\n');
    std::string_view line = text_.substr(0, newline);
    text_ = newline == std::string_view::npos ? std::string_view{} : text_.substr(newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t cut = 0;
    if (auto close = line.find("] "); close != std::string_view::npos && line.find('[') < close &&
                                      line.substr(line.find('[') + 1, close - line.find('[') - 1)
                                              .find_first_not_of(" 0123456789.") == std::string_view::npos)
      cut = close + 2;
    message_ = std::string(line.substr(cut));
    column_base_ = static_cast<int>(cut);
    return true;
  }

  Phys number(const std::smatch& m, int group, int base = 0) const {
    std::string text = m.str(group);
    std::string_view digits = text;
    if (base == 0) {
      base = 10;
      if (digits.starts_with("0x")) {
        digits.remove_prefix(2);
        base = 16;
      }
    }
    Phys value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (ec != std::errc{} || end != digits.data() + digits.size())
      fail(static_cast<int>(m.position(group)) + 1, fmt::format("'{}' is not a 64-bit number", text));
    return value;
  }

  int integer(const std::smatch& m, int group) const {
    std::string text = m.str(group);
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size())
      fail(static_cast<int>(m.position(group)) + 1, fmt::format("'{}' is not a node id", text));
    return value;
  }

  Op alloc_op(const std::smatch& m) const {
    std::string function = m.str(1);
    Phys size = number(m, 2), align = number(m, 3);
    Phys from = number(m, 5);
    Limit max{number(m, 6)};
    if (function == "memblock_phys_alloc_range") {
      if (m[4].matched) fail(static_cast<int>(m.position(4)) + 1, "memblock_phys_alloc_range logs no nid");
      return PhysAllocRange{.size = size, .align = align, .start = from, .end = max};
    }
    if (!m[4].matched) fail(static_cast<int>(m.position(0)) + 1, function + " logs a nid=");
    Nid nid{integer(m, 4)};
    if (function == "memblock_alloc_try_nid")
      return AllocTryNid{.size = size, .align = align, .min = from, .max = max, .nid = nid};
    if (function == "memblock_alloc_try_nid_raw")
      return AllocTryNidRaw{.size = size, .align = align, .min = from, .max = max, .nid = nid};
    return AllocExactNidRaw{.size = size, .align = align, .min = from, .max = max, .nid = nid};
  }

  // " memory size = %pa reserved size = %pa", then per type " %s.cnt  = 0x%lx"
  // and cnt lines " %s[%#x]\t[%pa-%pa], %pa bytes[ on node %d] flags: %#x".
  void read_dump() {
    int start = line_;
    Dump dump;
    std::smatch m;
    if (!next_line() || !std::regex_search(message_, m, dump_sizes_re_))
      fail(1, "a MEMBLOCK configuration dump must go on with ' memory size = ... reserved size = ...'");
    dump.memory.total_size = number(m, 1);
    dump.reserved.total_size = number(m, 2);
    for (ExpectedArray* array : {&dump.memory, &dump.reserved}) {
      array->type = array == &dump.memory ? RegionType::memory : RegionType::reserved;
      const char* name = array == &dump.memory ? "memory" : "reserved";
      if (!next_line() || !std::regex_search(message_, m, dump_count_re_) || m.str(1) != name)
        fail(1, fmt::format("the dump of line {} must go on with ' {}.cnt  = ...'", start, name));
      Phys count = number(m, 2);
      for (Phys i = 0; i < count; ++i) {
        if (!next_line() || !std::regex_search(message_, m, dump_region_re_) || m.str(1) != name ||
            number(m, 2, 16) != i)
          fail(1, fmt::format("the dump of line {} lists {} {} regions; expected {}[{:#x}] here", start,
                              count, name, name, i));
        ExpectedRegion region;
        region.base = number(m, 3);
        region.size = number(m, 5);
        // %pa prints every hex digit of phys_addr_t: the width the end wraps at.
        const std::size_t bits = 4 * (m.str(4).size() - 2);
        const Phys mask = bits >= 64 ? ~Phys{0} : (Phys{1} << bits) - 1;
        if (((region.base + region.size - 1) & mask) != number(m, 4))
          fail(static_cast<int>(m.position(4)) + 1, "the region's end and size disagree");
        if (m[6].matched) region.nid = integer(m, 6);
        region.flags.bits = static_cast<std::uint32_t>(number(m, 7));
        array->regions.push_back(region);
      }
    }
    dump.memory.line = dump.reserved.line = start;
    events_.push_back({start, std::move(dump)});
  }

  static constexpr auto hex = R"((0x[0-9a-f]+))";
  const std::regex range_re_{
      fmt::format(R"(\b(memblock_add|memblock_remove|memblock_reserve|memblock_phys_free|memblock_free_late|__memblock_free_late): \[{}-{}\] ([A-Za-z0-9_.]+))",
                  hex, hex)};
  const std::regex add_node_re_{
      fmt::format(R"(\bmemblock_add_node: \[{}-{}\] nid=(-?[0-9]+) flags=([0-9a-f]+) )", hex, hex)};
  const std::regex alloc_re_{fmt::format(
      R"(\b(memblock_phys_alloc_range|memblock_alloc_try_nid|memblock_alloc_try_nid_raw|memblock_alloc_exact_nid_raw): ([0-9]+) bytes align={} (?:nid=(-?[0-9]+) )?from={} max_addr={} )",
      hex, hex, hex)};
  const std::regex unknown_call_re_{
      R"(\b(memblock_add|memblock_add_node|memblock_remove|memblock_reserve|memblock_phys_free|memblock_free_late|memblock_phys_alloc_range|memblock_alloc_try_nid|memblock_alloc_try_nid_raw|memblock_alloc_exact_nid_raw): )"};
  const std::regex fake_node_re_{fmt::format(R"(Faking a node at \[mem {}-{}\])", hex, hex)};
  const std::regex node_data_re_{fmt::format(R"(NODE_DATA\(([0-9]+)\) allocated \[mem {}-{}\])", hex, hex)};
  const std::regex dump_sizes_re_{fmt::format(R"(^ memory size = {} reserved size = {})", hex, hex)};
  const std::regex dump_count_re_{R"(^ ([a-z]+)\.cnt  = (0x[0-9a-f]+))"};
  const std::regex dump_region_re_{fmt::format(
      R"(^ ([a-z]+)\[0x([0-9a-f]+)\]\s+\[{}-{}\], {} bytes(?: on node (-?[0-9]+))? flags: (0x[0-9a-f]+|0))", hex, hex,
      hex)};

  std::string_view text_;
  const std::string& source_;
  std::string message_;
  int line_ = 0;
  int column_base_ = 0;
  std::vector<Event> events_;
};

// ---- from events to a trace ----------------------------------------------------------

struct Entry {
  Op op;
  int line = 0;
  std::string why;
  std::optional<Phys> result;
};

bool from(const std::string& caller, std::string_view function) { return caller == function; }

class TraceBuilder {
 public:
  TraceBuilder(const std::string& source, const Build& build) : source_(source), build_(build) {}

  Trace build(const std::vector<Event>& events) {
    for (std::size_t i = 0; i < events.size(); ++i) {
      const Event& e = events[i];
      const Event* next = i + 1 < events.size() ? &events[i + 1] : nullptr;
      if (pending_ && !std::holds_alternative<RangeCall>(e.what)) settle_pending(0);
      std::visit([&](const auto& what) { on(e.line, what, next); }, e.what);
      if (skip_next_) {
        skip_next_ = false;
        ++i;
      }
    }
    Trace trace;
    trace.source = source_;
    trace.header.push_back(fmt::format("{}: a memblock=debug kernel log as a trace (mbfuzz boot --log)", source_));
    trace.header.push_back(fmt::format("{} ops from logged calls, {} reconstructed, {} log lines skipped", logged_,
                                       entries_.size() - logged_, skipped_));
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      trace.ops.push_back(entries_[i].op);
      trace.lines.push_back(entries_[i].line);
      if (!entries_[i].why.empty()) trace.comments[i] = entries_[i].why;
      if (entries_[i].result) trace.results[i] = *entries_[i].result;
    }
    trace.expected_arrays = std::move(arrays_);
    return trace;
  }

 private:
  void push(Op op, int line, std::string why, bool logged = true) {
    if (logged) ++logged_;
    entries_.push_back({std::move(op), line, std::move(why), std::nullopt});
  }

  // The allocation request before this event returned `address` (0: it failed).
  void settle_pending(Phys address) {
    entries_[*pending_].result = address;
    pending_.reset();
  }

  void on(int line, const RangeCall& c, const Event* next) {
    if (from(c.caller, "memblock_alloc_range_nid") && c.function == "memblock_reserve") {
      if (pending_) return settle_pending(c.base);
      // A request memblock=debug does not log: memblock_phys_alloc_try_nid.
      if (next)
        if (const auto* nd = std::get_if<NodeData>(&next->what); nd && nd->base == c.base && nd->size == c.size) {
          push(PhysAllocTryNid{.size = c.size, .align = build_.smp_cache_bytes, .nid = Nid{nd->nid}}, line,
               fmt::format("alloc_node_data({}): memblock_phys_alloc_try_nid(roundup(sizeof(pg_data_t), "
                           "PAGE_SIZE), SMP_CACHE_BYTES, nid); its request is not logged",
                           nd->nid),
               false);
          entries_.back().result = c.base;
          skip_next_ = true;
          return;
        }
      push(Reserve{c.base, c.size}, line,
           "an allocation whose request is not logged, replayed as the reservation it made", false);
      return;
    }
    if (pending_) settle_pending(0);
    if (from(c.caller, "memblock_double_array")) {
      ++skipped_;  // memblock's own bookkeeping: the replay doubles the array itself
      return;
    }
    if (c.function == "memblock_free_late" || c.function == "__memblock_free_late") {
      ++skipped_;  // pages go to the buddy allocator; memblock's arrays are not touched
      return;
    }
    if (c.function == "memblock_add") {
      if (from(c.caller, "e820__memblock_setup") && !e820_setup_seen_) {
        e820_setup_seen_ = true;
        push(AllowResize{}, line, "e820__memblock_setup starts with memblock_allow_resize(), which is not logged",
             false);
      }
      push(Add{c.base, c.size}, line, c.caller);
      if (!dumped_) memory_ += range(c.base, c.size);
    } else if (c.function == "memblock_remove") {
      push(Remove{c.base, c.size}, line, c.caller);
      if (!dumped_) memory_ -= range(c.base, c.size);
    } else if (c.function == "memblock_reserve") {
      push(Reserve{c.base, c.size}, line, c.caller);
      if (!dumped_) reserved_ += range(c.base, c.size);
    } else {  // memblock_phys_free
      push(PhysFree{c.base, c.size}, line, c.caller);
      if (!dumped_) reserved_ -= range(c.base, c.size);
    }
  }

  void on(int line, const AddNodeCall& c, const Event*) {
    push(AddNode{c.base, c.size, Nid{c.nid}, Flags{c.flags}}, line, "memblock_add_node");
    if (!dumped_) memory_ += range(c.base, c.size);
  }

  void on(int line, const AllocRequest& r, const Event*) {
    pending_ = entries_.size();
    push(r.op, line, "");
  }

  void on(int line, const Dump& d, const Event*) {
    if (!dumped_) first_dump(line, d);
    dumped_ = true;
    for (const ExpectedArray* a : {&d.memory, &d.reserved}) {
      arrays_.push_back(*a);
      arrays_.back().after = entries_.size();
    }
  }

  void on(int line, const FakeNode& f, const Event*) {
    // arch/x86/mm/numa.c, numa_init() with dummy_numa_init(): one node over [0, max_pfn).
    const Phys all = ~Phys{0};
    const Nid none{build_.max_numnodes};
    push(SetNode{0, all, RegionType::memory, none}, line, "numa_init: no node for any memory yet", false);
    push(SetNode{0, all, RegionType::reserved, none}, line, "numa_init: no node for any reservation yet", false);
    push(ClearHotplug{0, all}, line, "numa_init: in case parsing SRAT failed", false);
    push(SetBottomUp{false}, line, "numa_init: back to top-down after SRAT", false);
    push(SetNode{0, f.end, RegionType::memory, Nid{0}}, line, "numa_register_memblks: the faked node 0", false);
    push(SetNode{0, f.end, RegionType::reserved, Nid{0}}, line,
         "numa_clear_kernel_node_hotplug: reservations take their node", false);
    push(ClearHotplug{0, f.end}, line, "numa_clear_kernel_node_hotplug: node 0 holds the kernel", false);
  }

  // Seen only when no reservation came before it: NODE_DATA's allocation
  // was replayed with that reservation, which skipped this line.
  void on(int, const NodeData&, const Event*) { ++skipped_; }

  static AddressSet range(Phys base, Phys size) {
    Phys end = base + size < base ? ~Phys{0} : base + size;
    AddressSet s;
    if (end > base) s += icl::right_open_interval<Phys>(base, end);
    return s;
  }

  // What the first dump shows that the logged calls do not explain was done
  // before memblock=debug was parsed: added or reserved first of all.
  void first_dump(int line, const Dump& d) {
    if (e820_setup_seen_)
      push(TrimMemory{build_.page_size}, line,
           "e820__memblock_setup ends with memblock_trim_memory(PAGE_SIZE), which is not logged", false);
    std::vector<Entry> early;
    auto missing = [&](const ExpectedArray& a, const AddressSet& logged, auto make, const char* what) {
      AddressSet shown;
      for (const ExpectedRegion& r : a.regions) shown += range(r.base, r.size);
      for (const auto& i : shown - logged)
        early.push_back({make(i.lower(), i.upper() - i.lower()), line,
                         fmt::format("{} before memblock=debug took effect: shown by the first dump", what),
                         std::nullopt});
    };
    missing(d.memory, memory_, [](Phys b, Phys s) -> Op { return Add{b, s}; }, "added");
    missing(d.reserved, reserved_, [](Phys b, Phys s) -> Op { return Reserve{b, s}; }, "reserved");
    if (pending_) *pending_ += early.size();
    entries_.insert(entries_.begin(), early.begin(), early.end());
    // Flags set before the dump are not logged either (mark_nomap, mark_hotplug, mark_mirror).
    for (const ExpectedRegion& r : d.memory.regions) {
      if (r.flags.bits & Flags::hotplug) push(MarkHotplug{r.base, r.size}, line, "flag shown by the first dump", false);
      if (r.flags.bits & Flags::mirror) push(MarkMirror{r.base, r.size}, line, "flag shown by the first dump", false);
      if (r.flags.bits & Flags::nomap) push(MarkNomap{r.base, r.size}, line, "flag shown by the first dump", false);
    }
  }

  const std::string& source_;
  const Build& build_;
  std::vector<Entry> entries_;
  std::vector<ExpectedArray> arrays_;
  std::optional<std::size_t> pending_;  // an allocation request awaiting its reservation
  AddressSet memory_, reserved_;        // what the logged calls did before the first dump
  bool dumped_ = false;
  bool e820_setup_seen_ = false;
  bool skip_next_ = false;
  std::size_t logged_ = 0;
  std::size_t skipped_ = 0;
};

}  // namespace

Trace log_trace(std::string_view text, const std::string& source, const Build& build) {
  std::vector<Event> events = LogReader(text, source).read();
  if (events.empty())
    throw BootError(source, "1:1",
                    "no memblock=debug output in this log (boot with memblock=debug and capture the "
                    "console from the start)");
  return TraceBuilder(source, build).build(events);
}

Trace log_trace_file(const std::filesystem::path& path, const Build& build) {
  return log_trace(read_layout_file(path), path.string(), build);
}

std::vector<ExpectedArray> read_dump(const std::vector<std::string>& lines, const std::string& source) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  for (Event& event : LogReader(text, source).read())
    if (auto* dump = std::get_if<Dump>(&event.what)) return {std::move(dump->memory), std::move(dump->reserved)};
  throw BootError(source, "1:1", "no MEMBLOCK configuration dump in these lines");
}

}  // namespace mbfuzz::boot
