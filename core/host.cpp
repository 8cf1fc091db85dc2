#include "core/host.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "core/kernel/memblock_bridge.h"

namespace mbfuzz::host {
namespace {

// Handles for addresses outside the window: one slot per distinct address,
// each slot wide enough for the pointer arithmetic memblock does on a block.
constexpr std::size_t handle_slot = std::size_t{1} << 20;
constexpr std::uintptr_t page = 4096;

int window_bits() {
  const char* text = std::getenv("MBFUZZ_WINDOW_BITS");
  const int bits = text ? std::atoi(text) : default_window_bits;
  return std::clamp(bits, 30, default_window_bits);
}

[[noreturn]] void fatal(const char* what) {
  std::fprintf(stderr, "mbfuzz: simulated physical memory: %s: %s\n", what, std::strerror(errno));
  std::abort();
}

class SimulatedMemory {
 public:
  SimulatedMemory()
      : window_size(Phys{1} << window_bits()),
        handle_slots(std::min<std::size_t>(std::size_t{1} << 16, window_size / handle_slot)) {
    window_ = map(window_size, PROT_READ | PROT_WRITE);
    handles_ = map(handle_slot * handle_slots, PROT_NONE);
  }

  void* to_virt(Phys phys) {
    if (phys < window_size) return window_ + phys;
    auto [it, added] = handle_of_.try_emplace(phys, handle_phys_.size());
    if (added) {
      if (handle_phys_.size() == handle_slots) fatal("too many distinct addresses outside the window");
      handle_phys_.push_back(phys);
    }
    return handles_ + it->second * handle_slot;
  }

  Phys to_phys(const void* virt) const {
    auto p = static_cast<const std::byte*>(virt);
    if (p >= window_ && p < window_ + window_size) return static_cast<Phys>(p - window_);
    if (p >= handles_ && p < handles_ + handle_slot * handle_slots) {
      auto offset = static_cast<std::size_t>(p - handles_);
      auto slot = offset / handle_slot;
      if (slot < handle_phys_.size()) return handle_phys_[slot] + offset % handle_slot;
    }
    // A kmalloc'd object (slab available): the kernel only tests __pa() of it
    // against 0, so any nonzero value that is not a window address will do.
    return reinterpret_cast<std::uintptr_t>(virt);
  }

  bool backed(const void* virt, std::size_t n) const {
    auto p = static_cast<const std::byte*>(virt);
    return p >= window_ && n <= window_size && static_cast<Phys>(p - window_) <= window_size - n;
  }

  // memset on the window. Zeroing whole pages of a private anonymous
  // mapping is what MADV_DONTNEED does, without faulting them in.
  void fill(void* virt, int c, std::size_t n) {
    auto start = reinterpret_cast<std::uintptr_t>(virt);
    auto end = start + n;
    auto first_page = (start + page - 1) & ~(page - 1);
    auto last_page = end & ~(page - 1);
    if (c != 0 || last_page <= first_page) {
      std::memset(virt, c, n);
      touched(virt, n);
      return;
    }
    std::memset(virt, 0, first_page - start);
    madvise(reinterpret_cast<void*>(first_page), last_page - first_page, MADV_DONTNEED);
    std::memset(reinterpret_cast<void*>(last_page), 0, end - last_page);
    touched(virt, first_page - start);
    touched(reinterpret_cast<void*>(last_page), end - last_page);
  }

  void touched(void* virt, std::size_t n) {
    if (n == 0) return;
    auto start = reinterpret_cast<std::uintptr_t>(virt) & ~(page - 1);
    auto end = reinterpret_cast<std::uintptr_t>(virt) + n;
    touched_.emplace_back(start, end);
  }

  void reset() {
    for (auto [start, end] : touched_)
      madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
    touched_.clear();
    handle_of_.clear();
    handle_phys_.clear();
  }

 private:
  static std::byte* map(std::size_t len, int prot) {
    void* p = mmap(nullptr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) fatal("mmap");
    return static_cast<std::byte*>(p);
  }

  const Phys window_size;
  const std::size_t handle_slots;  // as many distinct addresses outside the window
  std::byte* window_;
  std::byte* handles_;
  std::map<Phys, std::size_t> handle_of_;
  std::vector<Phys> handle_phys_;
  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> touched_;
};

SimulatedMemory& memory() {
  static SimulatedMemory instance;
  return instance;
}

Recording& current() {
  static Recording instance;
  return instance;
}

// kmalloc'd objects: start address to size.
std::map<const std::byte*, std::size_t>& slab_objects() {
  static std::map<const std::byte*, std::size_t> instance;
  return instance;
}

}  // namespace

bool zeroed_during_call(Phys start, Phys end) {
  auto zeroed = current().zeroed;
  std::sort(zeroed.begin(), zeroed.end());
  Phys reached = start;
  for (auto [s, e] : zeroed) {
    if (s > reached) break;
    reached = std::max(reached, e);
  }
  return reached >= end;
}

void start_recording() { current() = Recording{}; }

const Recording& recording() { return current(); }

void reset_memory() {
  memory().reset();
  for (auto [p, size] : slab_objects()) std::free(const_cast<std::byte*>(p));
  slab_objects().clear();
}

bool is_slab_object(const void* p) { return slab_objects().count(static_cast<const std::byte*>(p)) != 0; }

bool in_slab_object(const void* p, std::size_t n) {
  const auto* start = static_cast<const std::byte*>(p);
  auto it = slab_objects().upper_bound(start);
  if (it == slab_objects().begin()) return false;
  --it;
  return start >= it->first && static_cast<std::size_t>(start - it->first) + n <= it->second;
}

}  // namespace mbfuzz::host

using namespace mbfuzz;

extern "C" {

void* mb_host_phys_to_virt(uint64_t phys) { return host::memory().to_virt(phys); }

uint64_t mb_host_virt_to_phys(const void* virt) { return host::memory().to_phys(virt); }

int mb_host_unbacked(const void* dst, size_t n) {
  return !host::in_slab_object(dst, n) && !host::memory().backed(dst, n);
}

void* mb_host_memset(void* dst, int c, size_t n) {
  if (host::in_slab_object(dst, n)) return std::memset(dst, c, n);
  auto& mem = host::memory();
  Phys start = mem.to_phys(dst);
  if (c == 0 && n != 0) host::current().zeroed.emplace_back(start, start + n);
  if (mem.backed(dst, n)) mem.fill(dst, c, n);
  return dst;
}

void* mb_host_memcpy(void* dst, const void* src, size_t n) {
  std::memcpy(dst, src, n);
  // Only window pages are released at reset; a kmalloc'd array is the heap's.
  if (host::memory().backed(dst, n)) host::memory().touched(dst, n);
  return dst;
}

void* mb_host_kmalloc(size_t size, int zero) {
  if (size > host::kmalloc_max_size) return nullptr;  // as the kernel's kmalloc does
  void* p = zero ? std::calloc(1, size ? size : 1) : std::malloc(size ? size : 1);
  if (p) host::slab_objects().emplace(static_cast<const std::byte*>(p), size);
  return p;
}

void mb_host_kfree(const void* p) {
  auto& objects = host::slab_objects();
  auto it = objects.find(static_cast<const std::byte*>(p));
  if (it == objects.end()) return;  // kfree(NULL), or not ours: the kernel would oops
  std::free(const_cast<std::byte*>(it->first));
  objects.erase(it);
}

int mb_host_free_pages(uint64_t pfn, unsigned order) {
  auto& blocks = host::current().buddy.blocks;
  if (blocks.size() >= host::max_page_blocks) return 1;
  blocks.push_back(PageBlock{pfn, order});
  return 0;
}

void mb_host_totalram_add(long pages) { host::current().buddy.totalram_pages += pages; }

void mb_host_event(enum mb_event_kind kind, const char* file, int line, const char* text) {
  auto k = kind == MB_EVENT_BUG   ? KernelEvent::Kind::bug
           : kind == MB_EVENT_WARN ? KernelEvent::Kind::warn
                                   : KernelEvent::Kind::limit;
  host::current().events.push_back(KernelEvent{k, file, line, text});
}

void mb_host_printk(const char* text) { host::current().log.emplace_back(text); }

}  // extern "C"
