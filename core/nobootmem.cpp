#include "core/nobootmem.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace mbfuzz {
namespace {

constexpr Phys page = 4096;

class Answer {
 public:
  explicit Answer(std::uint64_t& highest_end_pfn) : highest_end_pfn_(highest_end_pfn) {}

  // The node's pages are present and, as bootmem starts them, all reserved.
  std::vector<Op> operator()(const InitBootmemNode& o) {
    highest_end_pfn_ = std::max(highest_end_pfn_, o.end_pfn);
    const Phys base = o.start_pfn * page, size = (o.end_pfn - o.start_pfn) * page;
    return {AddNode{base, size, o.nid, Flags{}}, Reserve{base, size}};
  }
  std::vector<Op> operator()(const FreeBootmem& o) { return {PhysFree{o.base, o.size}}; }
  std::vector<Op> operator()(const FreeBootmemNode& o) { return {PhysFree{o.base, o.size}}; }
  std::vector<Op> operator()(const ReserveBootmem& o) { return {Reserve{o.base, o.size}}; }
  std::vector<Op> operator()(const ReserveBootmemNode& o) { return {Reserve{o.base, o.size}}; }
  // nobootmem's ___alloc_bootmem_nopanic: any node, the goal dropped when it cannot be met.
  std::vector<Op> operator()(const AllocBootmem& o) {
    return {AllocTryNid{o.size, o.align, o.goal, limit(o.limit), Nid{Nid::no_node}}};
  }
  std::vector<Op> operator()(const AllocBootmemNode& o) {
    return {AllocTryNid{o.size, o.align, o.goal, limit(o.limit), o.nid}};
  }
  // free_low_memory_core_early, today memblock_free_all, up to the highest node's end.
  std::vector<Op> operator()(const FreeAllBootmem&) { return {FreeAll{highest_end_pfn_}}; }

  template <class T>
    requires(!is_bootmem_op_v<T>)
  std::vector<Op> operator()(const T&) {
    throw std::invalid_argument(std::string(T::name) + " is not one of bootmem's calls");
  }

 private:
  static Limit limit(Phys value) { return Limit{value == 0 ? Limit::accessible : value}; }
  std::uint64_t& highest_end_pfn_;
};

}  // namespace

MemblockCalls nobootmem_calls(std::span<const Op> bootmem_ops) {
  MemblockCalls calls;
  std::uint64_t highest_end_pfn = 0;
  for (std::size_t i = 0; i < bootmem_ops.size(); ++i) {
    for (Op& op : std::visit(Answer{highest_end_pfn}, bootmem_ops[i])) {
      calls.ops.push_back(std::move(op));
      calls.origin.push_back(i);
    }
    // After the hand-off the buddy allocator owns the pages: bootmem refuses
    // every later call, and no kernel asked memblock either.
    if (std::holds_alternative<FreeAllBootmem>(bootmem_ops[i])) break;
  }
  return calls;
}

}  // namespace mbfuzz
