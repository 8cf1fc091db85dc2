/*
 * The second system under test: the bootmem bitmap allocator that memblock
 * replaced in 4.20 (mm/bootmem.c), written here in kernel C from its
 * documented semantics (docs/allocators.md), and driven through the same
 * op vocabulary as memblock. Plain C, like memblock_bridge.h: pfns and
 * addresses are uint64_t (unsigned long on the 64-bit kernels bootmem ran on),
 * node ids int.
 *
 * Every call returns MB_DONE or MB_ABORTED (BUG(), or a limit of the
 * simulation), reported through mb_host_event() as for memblock; pages handed
 * to the buddy allocator arrive in mb_host_free_pages().
 */
#ifndef MBFUZZ_BOOTMEM_BRIDGE_H
#define MBFUZZ_BOOTMEM_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#include "memblock_bridge.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BM_MAX_NUMNODES 16
/* BOOTMEM_EXCLUSIVE: reserving a page that is already reserved is -EBUSY. */
#define BM_EXCLUSIVE 1
/*
 * The largest node the simulation holds a bitmap for: 2^20 pages (4 GiB),
 * a 128 KiB bitmap. A larger node ends init_node as a simulation limit.
 */
#define BM_MAX_NODE_PAGES (1ull << 20)

/* One node's bootmem_data, as plain data. */
struct bm_node_info {
	int nid;
	uint64_t node_min_pfn;
	uint64_t node_low_pfn;
	uint64_t map_pfn;      /* where the arch placed the bitmap */
	uint64_t hint_idx;     /* where the next search starts, from node_min_pfn */
	uint64_t last_end_off; /* end of the last allocation, in bytes from the node's start */
	int has_map;           /* 0 once free_all_bootmem handed the node over */
};

/* Emitted once per run of reserved pages, [start_pfn, end_pfn). */
typedef void (*bm_run_sink)(void *ctx, uint64_t start_pfn, uint64_t end_pfn);

struct bm_kernel {
	void (*reset)(void);

	/* init_bootmem_node(NODE_DATA(nid), map_pfn, start_pfn, end_pfn): *mapsize
	 * receives the bitmap's size in bytes. Every page starts reserved. */
	int (*init_node)(int nid, uint64_t start_pfn, uint64_t end_pfn, uint64_t map_pfn,
			 uint64_t *mapsize);
	/* free_bootmem(addr, size), free_bootmem_node(NODE_DATA(nid), addr, size) */
	int (*free)(uint64_t addr, uint64_t size);
	int (*free_node)(int nid, uint64_t addr, uint64_t size);
	/* reserve_bootmem(addr, size, flags), reserve_bootmem_node(...): *ret is 0 or -EBUSY */
	int (*reserve)(uint64_t addr, uint64_t size, int flags, int *ret);
	int (*reserve_node)(int nid, uint64_t addr, uint64_t size, int flags, int *ret);
	/* ___alloc_bootmem_nopanic and ___alloc_bootmem_node_nopanic: *phys is the
	 * block's physical address, *found 0 when they returned NULL. */
	int (*alloc)(uint64_t size, uint64_t align, uint64_t goal, uint64_t limit, int *found,
		     uint64_t *phys);
	int (*alloc_node)(int nid, uint64_t size, uint64_t align, uint64_t goal, uint64_t limit,
			  int *found, uint64_t *phys);
	/* free_all_bootmem(): *pages is what it returns (and adds to totalram_pages). */
	int (*free_all)(uint64_t *pages);

	/* State: the nodes in bdata_list order (ascending node_min_pfn). */
	size_t (*nodes)(struct bm_node_info *out, size_t cap);
	/* The runs of reserved pages of an initialised node, ascending. */
	void (*reserved_runs)(int nid, bm_run_sink sink, void *ctx);
};

/* bootmem as written (core/kernel/bootmem.c). */
extern const struct bm_kernel bm_bootmem;

/*
 * Deliberately broken copies, one bug each (ci/bootmem-mutants.list), in
 * test builds: the checks are seen to catch them. Empty otherwise.
 */
struct bm_broken {
	const char *name;
	const struct bm_kernel *kernel;
};
extern const struct bm_broken bm_broken_builds[];
extern const size_t bm_broken_count;

#ifdef __cplusplus
}
#endif

#endif /* MBFUZZ_BOOTMEM_BRIDGE_H */
