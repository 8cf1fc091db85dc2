/*
 * The kernel boundary: the only interface between mbfuzz (C++) and the
 * production mm/memblock.c (C), compiled once per build variant.
 *
 * Nothing kernel-shaped crosses it: addresses are uint64_t (a 32-bit
 * phys_addr_t variant truncates on the way in, exactly as a C caller would),
 * node ids are int, flags are the kernel's MEMBLOCK_* bit values.
 *
 * Every call returns MB_DONE when memblock returned normally, or MB_ABORTED
 * when it hit BUG()/BUG_ON()/panic() or a limit of the simulation; the event is
 * then reported through mb_host_event() and the out-parameters are untouched.
 * After MB_ABORTED the kernel state is whatever memblock left behind.
 */
#ifndef MBFUZZ_MEMBLOCK_BRIDGE_H
#define MBFUZZ_MEMBLOCK_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum mb_status { MB_DONE = 0, MB_ABORTED = 1 };

enum mb_region_type { MB_MEMORY = 0, MB_RESERVED = 1 };

/* Values of the kernel's symbolic allocation limits and node ids. */
#define MB_ALLOC_ANYWHERE UINT64_MAX /* truncated to ~(phys_addr_t)0 */
#define MB_ALLOC_ACCESSIBLE 0
#define MB_ALLOC_NOLEAKTRACE 1
#define MB_NUMA_NO_NODE (-1)

struct mb_region {
	uint64_t base;
	uint64_t size;
	uint32_t flags;
	int32_t nid; /* 0 when the variant has no CONFIG_NUMA */
};

struct mb_type_info {
	uint64_t cnt;
	uint64_t max;
	uint64_t total_size;
	int in_static_array; /* regions still in the __initdata array */
};

struct mb_globals {
	int bottom_up;
	uint64_t current_limit;
	int can_resize;      /* memblock_allow_resize() was called */
	int has_some_mirror; /* memblock_mark_mirror() took effect */
	int discarded;       /* memblock_discard() ran: memblock_memory is NULL */
};

/* Facts about how a variant was built, for the oracle's version knobs. */
struct mb_build {
	const char *name;         /* "numa64", "uma32", ... */
	const char *kernel_version; /* "6.1.192" */
	int numa;                 /* CONFIG_NUMA */
	int max_numnodes;         /* MAX_NUMNODES */
	int phys_bits;            /* width of phys_addr_t */
	uint64_t page_size;
	uint64_t smp_cache_bytes;
	uint64_t init_regions;    /* INIT_MEMBLOCK_REGIONS */
	unsigned max_order;       /* MAX_ORDER of the simulated buddy allocator */
};

/* Emitted once per range by the iteration entries. */
typedef void (*mb_range_sink)(void *ctx, uint64_t start, uint64_t end, int nid);

/*
 * One production memblock. All pointers are to functions of one variant's
 * translation unit; the variant's kernel state is global to the process, so a
 * process drives at most one instance of each variant at a time.
 */
struct mb_kernel {
	struct mb_build build;

	/* Back to the state of a freshly booted kernel, before any memblock call. */
	void (*reset)(void);

	/* The switches of the environment memblock consults. */
	int (*set_slab_available)(int on);
	int (*set_movable_node)(int on);
	int (*set_mirrored_kernelcore)(int on);

	/* Mutators; *ret receives the kernel's int return value. */
	int (*add)(uint64_t base, uint64_t size, int *ret);
	int (*add_node)(uint64_t base, uint64_t size, int nid, uint32_t flags, int *ret);
	int (*remove)(uint64_t base, uint64_t size, int *ret);
	int (*reserve)(uint64_t base, uint64_t size, int *ret);
	int (*phys_free)(uint64_t base, uint64_t size, int *ret);
	/* memblock_free(ptr, size): has_ptr == 0 passes NULL, else __va(phys). */
	int (*free_virt)(int has_ptr, uint64_t phys, uint64_t size);
	int (*mark_hotplug)(uint64_t base, uint64_t size, int *ret);
	int (*clear_hotplug)(uint64_t base, uint64_t size, int *ret);
	int (*mark_mirror)(uint64_t base, uint64_t size, int *ret);
	int (*mark_nomap)(uint64_t base, uint64_t size, int *ret);
	int (*clear_nomap)(uint64_t base, uint64_t size, int *ret);
	int (*set_node)(uint64_t base, uint64_t size, enum mb_region_type type, int nid, int *ret);
	int (*trim_memory)(uint64_t align);
	int (*enforce_memory_limit)(uint64_t limit);
	int (*cap_memory_range)(uint64_t base, uint64_t size);
	int (*mem_limit_remove_map)(uint64_t limit);
	int (*set_current_limit)(uint64_t limit);
	int (*set_bottom_up)(int enable);
	int (*allow_resize)(void);

	/* Physical allocators; *addr receives the returned physical address. */
	int (*phys_alloc)(uint64_t size, uint64_t align, uint64_t *addr);
	int (*phys_alloc_range)(uint64_t size, uint64_t align, uint64_t start, uint64_t end,
				uint64_t *addr);
	int (*phys_alloc_try_nid)(uint64_t size, uint64_t align, int nid, uint64_t *addr);
	int (*alloc_range_nid)(uint64_t size, uint64_t align, uint64_t start, uint64_t end,
			       int nid, int exact_nid, uint64_t *addr);

	/*
	 * Virtual allocators; *ptr receives the returned pointer (NULL on
	 * failure), to be turned into an address with mb_host_virt_to_phys().
	 */
	int (*alloc)(uint64_t size, uint64_t align, void **ptr);
	int (*alloc_raw)(uint64_t size, uint64_t align, void **ptr);
	int (*alloc_from)(uint64_t size, uint64_t align, uint64_t min_addr, void **ptr);
	int (*alloc_low)(uint64_t size, uint64_t align, void **ptr);
	int (*alloc_node)(uint64_t size, uint64_t align, int nid, void **ptr);
	int (*alloc_try_nid)(uint64_t size, uint64_t align, uint64_t min_addr, uint64_t max_addr,
			     int nid, void **ptr);
	int (*alloc_try_nid_raw)(uint64_t size, uint64_t align, uint64_t min_addr,
				 uint64_t max_addr, int nid, void **ptr);
	int (*alloc_exact_nid_raw)(uint64_t size, uint64_t align, uint64_t min_addr,
				   uint64_t max_addr, int nid, void **ptr);

	/* Queries. */
	int (*overlaps_region)(enum mb_region_type type, uint64_t base, uint64_t size, int *ret);
	int (*is_region_reserved)(uint64_t base, uint64_t size, int *ret);
	int (*is_memory)(uint64_t addr, int *ret);
	int (*is_map_memory)(uint64_t addr, int *ret);
	int (*is_region_memory)(uint64_t base, uint64_t size, int *ret);
	int (*is_reserved)(uint64_t addr, int *ret);
	int (*phys_mem_size)(uint64_t *ret);
	int (*reserved_size)(uint64_t *ret);
	int (*start_of_dram)(uint64_t *ret);
	int (*end_of_dram)(uint64_t *ret);
	int (*search_pfn_nid)(uint64_t pfn, int *nid, uint64_t *start_pfn, uint64_t *end_pfn);

	/* for_each_free_mem_range[_reverse](nid, flags): memory minus reserved. */
	int (*free_ranges)(int nid, uint32_t flags, int reverse, mb_range_sink sink, void *ctx);
	/* for_each_mem_pfn_range(nid): sink receives pfns, not addresses. */
	int (*mem_pfn_ranges)(int nid, mb_range_sink sink, void *ctx);

	/* Hand-off to the buddy allocator: pages arrive in mb_host_free_pages(). */
	int (*free_all)(uint64_t max_low_pfn);
	int (*discard)(void);

	/*
	 * What booting with memblock=debug prints: the parameter goes through
	 * memblock's own early_memblock(), then memblock_dump_all() prints the
	 * "MEMBLOCK configuration:" dump, a line at a time through
	 * mb_host_printk(). memblock_debug is then as it was. Not after discard:
	 * the arrays it would print are freed.
	 */
	int (*dump)(void);

	/* State, as plain data. */
	void (*globals)(struct mb_globals *out);
	void (*type_info)(enum mb_region_type type, struct mb_type_info *out);
	/* Copies up to cap regions (including the empty dummy); returns cnt. */
	size_t (*regions)(enum mb_region_type type, struct mb_region *out, size_t cap);
};

/* The variants linked into every mbfuzz binary. */
extern const struct mb_kernel mb_kernel_uma64;
extern const struct mb_kernel mb_kernel_uma32;
extern const struct mb_kernel mb_kernel_numa64;
extern const struct mb_kernel mb_kernel_numa32;

/*
 * Services the harness provides to the kernel side: simulated physical
 * memory, and the capture of everything memblock tells the outside world.
 */
enum mb_event_kind {
	MB_EVENT_WARN = 0,    /* WARN*() fired; memblock goes on */
	MB_EVENT_BUG = 1,     /* BUG()/BUG_ON()/panic(); the call was aborted */
	MB_EVENT_LIMIT = 2,   /* the simulation cannot follow; the call was aborted */
};

void *mb_host_phys_to_virt(uint64_t phys);
uint64_t mb_host_virt_to_phys(const void *virt);
/* memset/memcpy as memblock.c performs them on simulated memory. */
void *mb_host_memset(void *dst, int c, size_t n);
void *mb_host_memcpy(void *dst, const void *src, size_t n);
/* Returns 0 when [dst, dst + n) is backed by real memory; nonzero otherwise. */
int mb_host_unbacked(const void *dst, size_t n);
void *mb_host_kmalloc(size_t size, int zero);
void mb_host_kfree(const void *p);
/* Nonzero when the record is full (mb_host_max_page_blocks): the call ends. */
int mb_host_free_pages(uint64_t pfn, unsigned order);
void mb_host_totalram_add(long pages);
void mb_host_event(enum mb_event_kind kind, const char *file, int line, const char *text);
void mb_host_printk(const char *text);

#ifdef __cplusplus
}
#endif

#endif /* MBFUZZ_MEMBLOCK_BRIDGE_H */
