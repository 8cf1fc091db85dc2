// Properties of bootmem and of the two allocators side by side
// (docs/allocators.md): bootmem agrees with its specification; its hand-off
// gives each free page to the buddy allocator once, then its bitmap; and
// memblock, answering bootmem's calls as nobootmem did, has exactly the
// pages free that bootmem has, when every range is page-aligned.
#include <rapidcheck.h>

#include <algorithm>
#include <map>

#include "core/bootmem.hpp"
#include "core/nobootmem.hpp"
#include "oracle/bootmem_model.hpp"
#include "oracle/executor.hpp"
#include "props/support.hpp"

namespace mbfuzz::props {
namespace {

constexpr Phys page = 4096;

// One to three nodes, each starting on a 64-page boundary (a node that does
// not is where bootmem-free-all-skips-node-tail lives, which the executor
// property still covers), contiguous or apart, all RAM freed; the bitmaps
// lie below every node, each reserved nowhere (no node holds them).
struct Layout {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> nodes;  // [start, end) pfns
  std::vector<Op> ops;
};

rc::Gen<Layout> layout() {
  return rc::gen::exec([] {
    Layout l;
    const int count = *rc::gen::inRange(1, 4);
    std::uint64_t start = *rc::gen::inRange<std::uint64_t>(1, 64) * 64;
    for (int nid = 0; nid < count; ++nid) {
      const std::uint64_t pages = *rc::gen::inRange<std::uint64_t>(1, 300);
      l.nodes.emplace_back(start, start + pages);
      l.ops.push_back(InitBootmemNode{.nid = Nid{nid}, .start_pfn = start, .end_pfn = start + pages,
                                      .map_pfn = static_cast<std::uint64_t>(nid)});
      start += pages + (*rc::gen::arbitrary<bool>() ? 0 : *rc::gen::inRange<std::uint64_t>(1, 3) * 64);
      start = (start + 63) / 64 * 64;
    }
    for (auto [s, e] : l.nodes) l.ops.push_back(FreeBootmem{.base = s * page, .size = (e - s) * page});
    return l;
  });
}

// A page-aligned range in or near a node.
rc::Gen<std::pair<Phys, Phys>> range_near(const Layout& l) {
  return rc::gen::exec([l] {  // by value: shrinking runs it again after the caller has returned
    const auto [s, e] = *rc::gen::elementOf(l.nodes);
    const std::uint64_t first = *rc::gen::inRange<std::uint64_t>(s, e);
    const std::uint64_t pages = *rc::gen::inRange<std::uint64_t>(1, e - first + 1);
    return std::pair{first * page, pages * page};
  });
}

// bootmem's pages that are clear: free.
AddressSet free_pages(const BootmemSnapshot& s) {
  AddressSet free;
  for (const BootmemNode& n : s.nodes) {
    if (n.min_pfn < n.low_pfn) free += interval(n.min_pfn, n.low_pfn);
    for (auto [start, end] : n.reserved) free -= interval(start, end);
  }
  return free;
}

// memblock's whole pages of memory that no reservation touches.
AddressSet whole_free_pages(const Snapshot& s) {
  AddressSet free_bytes = covered(s.memory) - covered(s.reserved), pages;
  for (const auto& piece : free_bytes) {
    const Phys first = (icl::lower(piece) + page - 1) / page, last = icl::upper(piece) / page;
    if (first < last) pages += interval(first, last);
  }
  return pages;
}

// The pages a node's bitmap takes from map_pfn on (bootmap_bytes, in pages).
AddressSet bitmap_pages(std::uint64_t map_pfn, std::uint64_t node_pages) {
  const std::uint64_t pages = (oracle::BootmemModel::bootmap_bytes(node_pages) + page - 1) / page;
  return pages ? AddressSet(interval(map_pfn, map_pfn + pages)) : AddressSet();
}

AddressSet pages_of(const BuddyRelease& r, std::size_t& handed_twice) {
  AddressSet pages;
  for (const PageBlock& b : r.blocks) {
    const auto block = interval(b.pfn, b.pfn + (Phys{1} << b.order));
    if (icl::intersects(pages, block)) ++handed_twice;
    pages += block;
  }
  return pages;
}

// Each property is a function of the bootmem build it checks, so that the
// last test can show each failing on a broken one.

void agrees_with_its_specification_three_ways(const BootmemBuild& build) {
  oracle::DifferentialExecutor executor(default_variant(), build);
  {
    const Layout l = *layout();
    std::vector<Op> ops = l.ops;
    const auto count = *rc::gen::inRange(0, 30);
    for (int i = 0; i < count; ++i) {
      const auto [base, size] = *range_near(l);
      const Phys nudge = *rc::gen::element<Phys>(0, 0, 1, page / 2);  // sometimes off the page
      switch (*rc::gen::inRange(0, 4)) {
        case 0: ops.push_back(FreeBootmem{.base = base + nudge, .size = size}); break;
        case 1: ops.push_back(ReserveBootmem{.base = base + nudge, .size = size, .exclusive = *rc::gen::arbitrary<bool>()}); break;
        case 2:
          ops.push_back(AllocBootmem{.size = *rc::gen::inRange<Phys>(1, 4 * page),
                                     .align = *rc::gen::element<Phys>(8, 64, page, 4 * page),
                                     .goal = *rc::gen::element<Phys>(0, base), .limit = 0});
          break;
        default:
          ops.push_back(AllocBootmemNode{.nid = Nid{*rc::gen::inRange(0, static_cast<int>(l.nodes.size()))},
                                         .size = *rc::gen::inRange<Phys>(1, 4 * page),
                                         .align = *rc::gen::element<Phys>(8, 64, page),
                                         .goal = 0, .limit = 0});
      }
    }
    if (*rc::gen::arbitrary<bool>()) ops.push_back(FreeAllBootmem{});
    trying(default_variant(), ops);
    const oracle::CheckResult result = executor.check(ops);
    RC_ASSERT(result.verdict != oracle::CheckResult::Verdict::diverged);
  }
}

void free_all_hands_each_free_page_over_once_then_the_bitmap(const BootmemBuild& build) {
  {
    const Layout l = *layout();
    std::vector<Op> ops = l.ops;
    for (int i = *rc::gen::inRange(0, 10); i > 0; --i) {
      const auto [base, size] = *range_near(l);
      ops.push_back(ReserveBootmem{.base = base, .size = size, .exclusive = false});
    }
    trying(default_variant(), ops);
    ProductionBootmem bootmem(build);
    for (const Op& op : ops) RC_ASSERT(bootmem.run(op).status == Outcome::Status::completed);
    const BootmemSnapshot before = bootmem.snapshot();
    ops.push_back(FreeAllBootmem{});
    trying(default_variant(), ops);
    const Outcome handed_over = bootmem.run(ops.back());
    const auto& release = std::get<BuddyRelease>(handed_over.value);

    AddressSet expected = free_pages(before), bitmaps;
    for (const BootmemNode& n : before.nodes) bitmaps += bitmap_pages(n.map_pfn, n.low_pfn - n.min_pfn);
    RC_ASSERT(!icl::intersects(expected, bitmaps));  // the bitmaps lie below every node
    expected += bitmaps;
    std::size_t handed_twice = 0;
    RC_ASSERT(pages_of(release, handed_twice) == expected);
    RC_ASSERT(handed_twice == 0u);
    for (const PageBlock& b : release.blocks) {
      RC_ASSERT(b.order == 0u || b.order == 6u);
      RC_ASSERT(b.pfn % (std::uint64_t{1} << b.order) == 0u);  // naturally aligned
    }
    RC_ASSERT(static_cast<std::uint64_t>(release.totalram_pages) == icl::length(expected));
  }
}

void agrees_with_memblock_on_whole_pages_for_aligned_calls(const BootmemBuild& build) {
  {
    const Layout l = *layout();
    std::vector<Op> ops = l.ops;
    ProductionBootmem bootmem(build);
    Replay memblock(default_variant());
    // Each op on bootmem, and on memblock as nobootmem answered it: both
    // outcomes (memblock's of its last call).
    auto both = [&](const Op& op) {
      ops.push_back(op);
      trying(default_variant(), ops);
      std::pair<Outcome, Outcome> outcomes{bootmem.run(op), Outcome{}};
      RC_ASSERT(outcomes.first.status == Outcome::Status::completed);
      const MemblockCalls calls = nobootmem_calls(ops);  // the translation needs the nodes so far
      for (std::size_t c = 0; c < calls.ops.size(); ++c)
        if (calls.origin[c] == ops.size() - 1) outcomes.second = memblock(calls.ops[c]);
      RC_ASSERT(outcomes.second.status == Outcome::Status::completed);
      return outcomes;
    };
    ops.clear();
    for (const Op& op : l.ops) both(op);  // nodes: present, all reserved; then the RAM freed
    RC_ASSERT(free_pages(bootmem.snapshot()) == whole_free_pages(memblock.state()));
    for (int i = *rc::gen::inRange(0, 20); i > 0; --i) {
      if (*rc::gen::arbitrary<bool>()) {
        const auto [base, size] = *range_near(l);
        both(ReserveBootmem{.base = base, .size = size, .exclusive = false});
      } else {
        // A free of reserved pages only: bootmem's BUG on a double free is
        // where the two part, and not this property's subject.
        AddressSet reserved;
        for (const BootmemNode& n : bootmem.snapshot().nodes)
          for (auto [start, end] : n.reserved) reserved += interval(start, end);
        if (reserved.empty()) continue;
        const auto run = *rc::gen::elementOf(std::vector(reserved.begin(), reserved.end()));
        const std::uint64_t first = *rc::gen::inRange<std::uint64_t>(icl::lower(run), icl::upper(run));
        const std::uint64_t last = *rc::gen::inRange<std::uint64_t>(first + 1, icl::upper(run) + 1);
        both(FreeBootmem{.base = first * page, .size = (last - first) * page});
      }
      RC_ASSERT(free_pages(bootmem.snapshot()) == whole_free_pages(memblock.state()));
    }
    // The hand-off: the same pages, bootmem adding its bitmaps' pages.
    const auto [by_bootmem, by_memblock] = both(FreeAllBootmem{});
    const auto& bootmem_release = std::get<BuddyRelease>(by_bootmem.value);
    const auto& memblock_release = std::get<BuddyRelease>(by_memblock.value);
    AddressSet bitmaps;
    for (std::size_t nid = 0; nid < l.nodes.size(); ++nid)
      bitmaps += bitmap_pages(nid, l.nodes[nid].second - l.nodes[nid].first);
    std::size_t twice = 0;
    RC_ASSERT(pages_of(bootmem_release, twice) == pages_of(memblock_release, twice) + bitmaps);
    RC_ASSERT(twice == 0u);
    RC_ASSERT(static_cast<std::uint64_t>(bootmem_release.totalram_pages) ==
              static_cast<std::uint64_t>(memblock_release.totalram_pages) + icl::length(bitmaps));
  }
}

using Property = void (*)(const BootmemBuild&);
constexpr std::pair<const char*, Property> properties[] = {
    {"bootmem_agrees_with_its_specification_three_ways", agrees_with_its_specification_three_ways},
    {"free_all_bootmem_hands_each_free_page_over_once_then_the_bitmap",
     free_all_hands_each_free_page_over_once_then_the_bitmap},
    {"memblock_and_bootmem_agree_on_whole_pages_for_aligned_calls",
     agrees_with_memblock_on_whole_pages_for_aligned_calls},
};

TEST(Props, bootmem_agrees_with_its_specification_three_ways) {
  holds([] { agrees_with_its_specification_three_ways(bootmem_as_written()); });
}

TEST(Props, free_all_bootmem_hands_each_free_page_over_once_then_the_bitmap) {
  holds([] { free_all_hands_each_free_page_over_once_then_the_bitmap(bootmem_as_written()); });
}

TEST(Props, memblock_and_bootmem_agree_on_whole_pages_for_aligned_calls) {
  holds([] { agrees_with_memblock_on_whole_pages_for_aligned_calls(bootmem_as_written()); });
}

// The properties can fail: each fails on at least one broken copy of
// bootmem.c (ci/bootmem-mutants.list).
TEST(Props, each_bootmem_property_fails_on_a_broken_bootmem) {
  ASSERT_FALSE(broken_bootmem_builds().empty()) << "ci/bootmem-mutants.list was not built in";
  for (const auto& [name, property] : properties) {
    std::string failed_on;
    for (const BootmemBuild& broken : broken_bootmem_builds()) {
      const Property p = property;
      if (!rc::check(std::string(name) + " on " + std::string(broken.name), [p, &broken] { p(broken); })) {
        failed_on = broken.name;
        break;
      }
    }
    EXPECT_FALSE(failed_on.empty()) << name << " holds on every broken bootmem";
    if (!failed_on.empty()) std::printf("  %s fails on %s\n", name, failed_on.c_str());
  }
}

}  // namespace
}  // namespace mbfuzz::props
