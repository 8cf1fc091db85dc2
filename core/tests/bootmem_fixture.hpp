// The fixture of the bootmem unit tests (bootmem_*_test.cpp): a fresh
// ProductionBootmem per test and the helpers the scenarios share.
//
// Expected values in the tests come from the specification, docs/allocators.md
// section "bootmem's semantics", worked out by hand, never from running the
// code. Pages are 4 KiB; a node's bitmap has one bit per page, set = reserved.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/bootmem.hpp"
#include "core/render.hpp"
#include "core/tests/memblock_fixture.hpp"

// Lets gtest print bootmem's state in failure messages.
namespace mbfuzz {
inline void PrintTo(const BootmemNode& n, std::ostream* os) {
  *os << "{nid " << n.nid << std::hex << " pfns [0x" << n.min_pfn << ", 0x" << n.low_pfn << ") map_pfn 0x"
      << n.map_pfn << " hint_idx 0x" << n.hint_idx << " last_end_off 0x" << n.last_end_off
      << (n.has_map ? "" : " handed over") << " reserved";
  for (auto [s, e] : n.reserved) *os << " [0x" << s << ", 0x" << e << ")";
  *os << std::dec << "}";
}
inline void PrintTo(const BootmemSnapshot& s, std::ostream* os) {
  *os << "{";
  for (const BootmemNode& n : s.nodes) {
    *os << " ";
    PrintTo(n, os);
  }
  *os << " }";
}
inline void PrintTo(const Allocation& a, std::ostream* os) {
  *os << render_outcome(Outcome{Outcome::Status::completed, a, {}});
}
}  // namespace mbfuzz

namespace mbfuzz::testing {

constexpr int ebusy = 16;  // EBUSY

// Runs of reserved pages [start, end), in pfns, as the snapshot lists them.
using Runs = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

// The byte address of a pfn.
constexpr Phys pfn(std::uint64_t p) { return p * page; }

class BootmemTest : public ::testing::Test {
 protected:
  // bootmem's state is global: one ProductionBootmem at a time, fresh per test.
  void SetUp() override { bootmem_ = std::make_unique<ProductionBootmem>(); }
  void TearDown() override { bootmem_.reset(); }

  ProductionBootmem& bootmem() { return *bootmem_; }
  BootmemSnapshot state() const { return bootmem_->snapshot(); }

  // Runs an op and requires that it completed without any event.
  Outcome run(const Op& op) {
    Outcome outcome = bootmem_->run(op);
    EXPECT_EQ(outcome.status, Outcome::Status::completed) << format_op(op) << " " << render_outcome(outcome);
    EXPECT_TRUE(outcome.events.empty()) << format_op(op) << " " << render_outcome(outcome);
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

  // Requires that the op ended in BUG(): aborted, with one event of kind bug.
  void expect_bug(const Op& op) {
    Outcome outcome = bootmem_->run(op);
    EXPECT_EQ(outcome.status, Outcome::Status::aborted) << render_outcome(outcome);
    ASSERT_EQ(outcome.events.size(), 1u) << render_outcome(outcome);
    EXPECT_EQ(outcome.events[0].kind, KernelEvent::Kind::bug) << render_outcome(outcome);
  }

  std::uint64_t init(int nid, std::uint64_t start_pfn, std::uint64_t end_pfn, std::uint64_t map_pfn) {
    return std::get<Address>(
               run(InitBootmemNode{.nid = Nid{nid}, .start_pfn = start_pfn, .end_pfn = end_pfn, .map_pfn = map_pfn})
                   .value)
        .value;
  }
  int err(const Op& op) { return std::get<Errno>(run(op).value).value; }
  Allocation allocation(const Op& op) { return std::get<Allocation>(run(op).value); }
  // The address of an allocation that must succeed.
  Phys allocated(const Op& op) {
    Allocation a = allocation(op);
    EXPECT_EQ(a.kind, Allocation::Kind::memory) << format_op(op);
    return a.addr;
  }
  BuddyRelease released() { return std::get<BuddyRelease>(run(FreeAllBootmem{}).value); }

  // The i-th node of bdata_list.
  BootmemNode node(std::size_t i) const {
    BootmemSnapshot s = state();
    if (i >= s.nodes.size()) {
      ADD_FAILURE() << "no node " << i << " in bdata_list";
      return {};
    }
    return s.nodes[i];
  }
  Runs reserved(std::size_t i) const { return node(i).reserved; }

  // Node 0 over pfns [0x100, 0x200), its bitmap placed outside it at pfn 0x80.
  //
  //   pfn 0x100                                        0x200
  //       +================================================+
  //       |                   node 0                       |
  void one_node() { init(0, 0x100, 0x200, 0x80); }

  // The same with every page freed, as an arch does with the RAM it finds.
  void one_free_node() {
    one_node();
    given({FreeBootmem{.base = pfn(0x100), .size = pfn(0x100)}});
  }

  // Two contiguous nodes: node 0 [0x100, 0x200), node 1 [0x200, 0x300).
  void two_nodes() {
    init(0, 0x100, 0x200, 0x80);
    init(1, 0x200, 0x300, 0x81);
  }

  void two_free_nodes() {
    two_nodes();
    given({FreeBootmem{.base = pfn(0x100), .size = pfn(0x200)}});
  }

  // alloc_bootmem(size, align, goal, limit)
  static Op alloc(Phys size, Phys align, Phys goal = 0, Phys limit = 0) {
    return AllocBootmem{.size = size, .align = align, .goal = goal, .limit = limit};
  }

  // One order-0 block per pfn in [start, end).
  static std::vector<PageBlock> one_by_one(std::uint64_t start, std::uint64_t end) {
    std::vector<PageBlock> out;
    for (std::uint64_t p = start; p < end; ++p) out.push_back(PageBlock{p, 0});
    return out;
  }

 private:
  std::unique_ptr<ProductionBootmem> bootmem_;
};

inline std::vector<PageBlock> operator+(std::vector<PageBlock> a, const std::vector<PageBlock>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Blocks in short: consecutive order-0 pages as one run, for failure messages.
inline std::string summary(const std::vector<PageBlock>& blocks) {
  std::ostringstream os;
  os << std::hex;
  for (std::size_t i = 0; i < blocks.size();) {
    std::size_t j = i + 1;
    if (blocks[i].order == 0)
      while (j < blocks.size() && blocks[j].order == 0 && blocks[j].pfn == blocks[j - 1].pfn + 1) ++j;
    os << " 0x" << blocks[i].pfn;
    if (j - i > 1) os << "-0x" << blocks[j - 1].pfn;
    os << " o" << std::dec << blocks[i].order << std::hex << ",";
    i = j;
  }
  return os.str();
}

}  // namespace mbfuzz::testing
