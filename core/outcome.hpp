// What running one op on a memblock produced: the call's return value, what
// the kernel reported on the way (WARN, BUG), and whether it completed.
// Plain data, comparable, so that two runs or two implementations can be
// compared exactly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/op.hpp"

namespace mbfuzz {

// The call returned nothing (void functions and switches).
struct NoValue {
  bool operator==(const NoValue&) const = default;
};

// An int return value: 0 or a negative errno.
struct Errno {
  int value = 0;
  bool operator==(const Errno&) const = default;
};

struct Truth {
  bool value = false;
  bool operator==(const Truth&) const = default;
};

// An address or a size returned by value; physical allocators return 0 on failure.
struct Address {
  Phys value = 0;
  bool operator==(const Address&) const = default;
};

// What a virtual allocator (memblock_alloc*) returned.
struct Allocation {
  enum class Kind { null, memory, slab };
  Kind kind = Kind::null;
  Phys addr = 0;  // __pa of the pointer when kind == memory
  // For zeroing allocators: was every byte of [addr, addr + size) set to 0
  // during the call. Empty for the _raw allocators, which promise nothing.
  std::optional<bool> zeroed;
  bool operator==(const Allocation&) const = default;
};

struct PfnNid {
  int nid = -1;  // -1: no memory region contains the pfn
  std::uint64_t start_pfn = 0;
  std::uint64_t end_pfn = 0;
  bool operator==(const PfnNid&) const = default;
};

// One step of an iteration: [start, end) in addresses or pfns, as the iterator says.
struct Range {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  int nid = 0;
  bool operator==(const Range&) const = default;
};

struct Ranges {
  std::vector<Range> ranges;
  bool operator==(const Ranges&) const = default;
};

// A block of 2^order pages handed to the buddy allocator.
struct PageBlock {
  std::uint64_t pfn = 0;
  unsigned order = 0;
  bool operator==(const PageBlock&) const = default;
};

// What the buddy allocator received: free_all and discard hand pages over.
struct BuddyRelease {
  std::vector<PageBlock> blocks;
  long totalram_pages = 0;  // what totalram_pages_add/_inc were told
  bool operator==(const BuddyRelease&) const = default;
};

using Value = std::variant<NoValue, Errno, Truth, Address, Allocation, PfnNid, Ranges, BuddyRelease>;

struct KernelEvent {
  enum class Kind { warn, bug, limit };
  Kind kind = Kind::warn;
  std::string file;  // basename, "memblock.c" for the code under test
  int line = 0;
  std::string text;
  bool operator==(const KernelEvent&) const = default;
};

struct Outcome {
  enum class Status {
    completed,  // the call returned
    aborted,    // BUG()/panic() or a simulation limit stopped it: see events
    refused,    // not run: memblock was discarded, no memblock call is valid any more
  };
  Status status = Status::completed;
  Value value;
  std::vector<KernelEvent> events;
  bool operator==(const Outcome&) const = default;
};

}  // namespace mbfuzz
