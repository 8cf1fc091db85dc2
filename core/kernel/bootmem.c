// SPDX-License-Identifier: GPL-2.0
/*
 * The bootmem allocator of kernels before 4.20, as a second system under
 * test: one bitmap per node, a set bit per reserved page. No tree mbfuzz
 * builds has mm/bootmem.c, so this re-creates 4.19's: the marking functions
 * as the seed ../shared/seeds/003 shows them, allocation and the hand-off
 * following 4.19's algorithm, bugs included (docs/findings.md), with the
 * same structure and names. The model it is checked against is written from
 * the semantics (docs/allocators.md), not from this file.
 *
 * The bitmap itself lives in host memory; `map_pfn` records where the arch
 * placed it, because free_all_bootmem() hands those pages over too.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bootmem_bridge.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define BITS_PER_LONG 64
#define BITS_PER_BYTE 8
#define MAX_NUMNODES BM_MAX_NUMNODES
#define BOOTMEM_EXCLUSIVE BM_EXCLUSIVE

#define PFN_UP(x) (((x) + PAGE_SIZE - 1) >> PAGE_SHIFT)
#define PFN_DOWN(x) ((x) >> PAGE_SHIFT)
#define PFN_PHYS(x) ((unsigned long)(x) << PAGE_SHIFT)
#define ALIGN(x, a) (((x) + ((a) - 1)) & ~((a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((a) - 1)) == 0)
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define PAGE_ALIGN(x) ALIGN(x, PAGE_SIZE)
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))

static jmp_buf bm_unwind;

static void bm_bug(int line, const char *what)
{
	mb_host_event(MB_EVENT_BUG, "bootmem.c", line, what);
	longjmp(bm_unwind, 1);
}

static void bm_limit(int line, const char *what)
{
	mb_host_event(MB_EVENT_LIMIT, "bootmem.c", line, what);
	longjmp(bm_unwind, 1);
}

static void bm_warn(int line, const char *what)
{
	mb_host_event(MB_EVENT_WARN, "bootmem.c", line, what);
}

#define BUG() bm_bug(__LINE__, "BUG()")
#define WARN_ON(condition) ({						\
	int __ret_warn_on = !!(condition);				\
	if (__builtin_expect(__ret_warn_on, 0))				\
		bm_warn(__LINE__, "WARN_ON(" #condition ")");		\
	__builtin_expect(__ret_warn_on, 0);				\
})
#define BUG_ON(condition) do {						\
	if (__builtin_expect(!!(condition), 0))				\
		bm_bug(__LINE__, "BUG_ON(" #condition ")");		\
} while (0)

typedef struct bootmem_data {
	unsigned long node_min_pfn;
	unsigned long node_low_pfn;
	unsigned long *node_bootmem_map;
	unsigned long map_pfn;
	unsigned long last_end_off;
	unsigned long hint_idx;
	struct bootmem_data *next; /* bdata_list: ascending node_min_pfn */
	bool linked;
} bootmem_data_t;

static bootmem_data_t bootmem_node_data[MAX_NUMNODES];
static bootmem_data_t *bdata_list;
static unsigned long totalram_pages;

/* ---- bitmap operations ------------------------------------------------------ */

static bool test_bit(unsigned long nr, const unsigned long *map)
{
	return (map[nr / BITS_PER_LONG] >> (nr % BITS_PER_LONG)) & 1;
}

static bool test_and_set_bit(unsigned long nr, unsigned long *map)
{
	bool old = test_bit(nr, map);

	map[nr / BITS_PER_LONG] |= 1UL << (nr % BITS_PER_LONG);
	return old;
}

static bool test_and_clear_bit(unsigned long nr, unsigned long *map)
{
	bool old = test_bit(nr, map);

	map[nr / BITS_PER_LONG] &= ~(1UL << (nr % BITS_PER_LONG));
	return old;
}

static unsigned long find_next_zero_bit(const unsigned long *map, unsigned long size,
					unsigned long offset)
{
	for (; offset < size; offset++)
		if (!test_bit(offset, map))
			return offset;
	return size;
}

/* ---- initialisation ----------------------------------------------------------- */

static unsigned long bootmap_bytes(unsigned long pages)
{
	unsigned long bytes = DIV_ROUND_UP(pages, BITS_PER_BYTE);

	return ALIGN(bytes, sizeof(long));
}

/* The pages a bitmap for `pages` pages occupies. */
static unsigned long bootmem_bootmap_pages(unsigned long pages)
{
	unsigned long bytes = bootmap_bytes(pages);

	return PAGE_ALIGN(bytes) >> PAGE_SHIFT;
}

/* bdata_list stays sorted by node_min_pfn: mark_bootmem walks it in order. */
static void link_bootmem(bootmem_data_t *bdata)
{
	bootmem_data_t **pos = &bdata_list;

	while (*pos && (*pos)->node_min_pfn <= bdata->node_min_pfn)
		pos = &(*pos)->next;
	bdata->next = *pos;
	*pos = bdata;
	bdata->linked = true;
}

static unsigned long init_bootmem_core(bootmem_data_t *bdata, unsigned long mapstart,
				       unsigned long start, unsigned long end)
{
	unsigned long mapsize = bootmap_bytes(end - start);

	bdata->node_bootmem_map = malloc(mapsize ? mapsize : sizeof(long));
	if (!bdata->node_bootmem_map)
		bm_limit(__LINE__, "no host memory for the bitmap");
	bdata->map_pfn = mapstart;
	bdata->node_min_pfn = start;
	bdata->node_low_pfn = end;
	link_bootmem(bdata);

	/* Every page starts reserved: the arch frees the RAM it finds. */
	memset(bdata->node_bootmem_map, 0xff, mapsize);
	return mapsize;
}

/* ---- marking ------------------------------------------------------------------- */

/*
 * Not bootmem's: the simulation's guard. A range that ends below its node's
 * first pfn makes eidx wrap, and the kernel's loops then walk past the end
 * of the bitmap, writing over whatever lies after it; here that stops the
 * call, reported as a BUG so that no finding is lost.
 */
static void bm_check_in_bitmap(bootmem_data_t *bdata, unsigned long idx)
{
	unsigned long bits = bootmap_bytes(bdata->node_low_pfn - bdata->node_min_pfn) * BITS_PER_BYTE;

	if (idx >= bits)
		bm_bug(__LINE__, "bitmap overrun: the kernel would write past the node's bitmap");
}

static void __free(bootmem_data_t *bdata, unsigned long sidx, unsigned long eidx)
{
	unsigned long idx;

	/* A node that was never initialised has no bitmap. */
	if (WARN_ON(bdata->node_bootmem_map == NULL))
		return;

	/* The next search starts no higher than what was freed. */
	if (bdata->hint_idx > sidx)
		bdata->hint_idx = sidx;

	for (idx = sidx; idx < eidx; idx++) {
		bm_check_in_bitmap(bdata, idx);
		if (!test_and_clear_bit(idx, bdata->node_bootmem_map))
			BUG();
	}
}

static int __reserve(bootmem_data_t *bdata, unsigned long sidx, unsigned long eidx, int flags)
{
	unsigned long idx;
	int exclusive = flags & BOOTMEM_EXCLUSIVE;

	if (WARN_ON(bdata->node_bootmem_map == NULL))
		return 0;

	for (idx = sidx; idx < eidx; idx++) {
		bm_check_in_bitmap(bdata, idx);
		if (test_and_set_bit(idx, bdata->node_bootmem_map)) {
			if (exclusive) {
				__free(bdata, sidx, idx);
				return -EBUSY;
			}
		}
	}
	return 0;
}

static int mark_bootmem_node(bootmem_data_t *bdata, unsigned long start, unsigned long end,
			     int reserve, int flags)
{
	unsigned long sidx, eidx;

	BUG_ON(start < bdata->node_min_pfn);
	BUG_ON(end > bdata->node_low_pfn);

	sidx = start - bdata->node_min_pfn;
	eidx = end - bdata->node_min_pfn;

	if (reserve)
		return __reserve(bdata, sidx, eidx, flags);
	__free(bdata, sidx, eidx);
	return 0;
}

/* [start, end) may span several nodes, which must then be contiguous. */
static int mark_bootmem(unsigned long start, unsigned long end, int reserve, int flags)
{
	unsigned long pos = start;
	bootmem_data_t *bdata;

	for (bdata = bdata_list; bdata; bdata = bdata->next) {
		int err;
		unsigned long max;

		if (pos < bdata->node_min_pfn || pos >= bdata->node_low_pfn) {
			BUG_ON(pos != start);
			continue;
		}

		max = min(bdata->node_low_pfn, end);

		err = mark_bootmem_node(bdata, pos, max, reserve, flags);
		if (reserve && err) {
			/* Give back what the earlier nodes reserved. */
			mark_bootmem(start, pos, 0, 0);
			return err;
		}

		if (max == end)
			return 0;
		pos = bdata->node_low_pfn;
	}
	BUG();
	return 0;
}

/* Free rounds inward: only pages wholly inside the range. */
static void free_bootmem(unsigned long addr, unsigned long size)
{
	mark_bootmem(PFN_UP(addr), PFN_DOWN(addr + size), 0, 0);
}

static void free_bootmem_node(bootmem_data_t *bdata, unsigned long physaddr, unsigned long size)
{
	mark_bootmem_node(bdata, PFN_UP(physaddr), PFN_DOWN(physaddr + size), 0, 0);
}

/* Reserve rounds outward: every page the range touches. */
static int reserve_bootmem(unsigned long addr, unsigned long size, int flags)
{
	return mark_bootmem(PFN_DOWN(addr), PFN_UP(addr + size), 1, flags);
}

static int reserve_bootmem_node(bootmem_data_t *bdata, unsigned long physaddr,
				unsigned long size, int flags)
{
	return mark_bootmem_node(bdata, PFN_DOWN(physaddr), PFN_UP(physaddr + size), 1, flags);
}

/* ---- allocation ----------------------------------------------------------------- */

/* Aligns an index so that node_min_pfn + index is a multiple of step. */
static unsigned long align_idx(bootmem_data_t *bdata, unsigned long idx, unsigned long step)
{
	unsigned long base = bdata->node_min_pfn;

	return ALIGN(base + idx, step) - base;
}

/* The same for byte offsets from the node's start. */
static unsigned long align_off(bootmem_data_t *bdata, unsigned long off, unsigned long align)
{
	unsigned long base = PFN_PHYS(bdata->node_min_pfn);

	return ALIGN(base + off, align) - base;
}

static bool alloc_bootmem_bdata(bootmem_data_t *bdata, unsigned long size, unsigned long align,
				unsigned long goal, unsigned long limit, unsigned long *phys)
{
	unsigned long fallback = 0;
	unsigned long min, max, start, sidx, midx, step;

	BUG_ON(!size);
	BUG_ON(align & (align - 1));
	BUG_ON(limit && goal + size > limit);

	if (!bdata->node_bootmem_map)
		return false;

	min = bdata->node_min_pfn;
	max = bdata->node_low_pfn;

	goal >>= PAGE_SHIFT;
	limit >>= PAGE_SHIFT;

	if (limit && max > limit)
		max = limit;
	if (max <= min)
		return false;

	step = max(align >> PAGE_SHIFT, 1UL);

	if (goal && min < goal && goal < max)
		start = ALIGN(goal, step);
	else
		start = ALIGN(min, step);

	sidx = start - bdata->node_min_pfn;
	midx = max - bdata->node_min_pfn;

	/* Search from the hint first, and from the start only when that fails. */
	if (bdata->hint_idx > sidx) {
		fallback = sidx + 1;
		sidx = align_idx(bdata, bdata->hint_idx, step);
	}

	for (;;) {
		bool merge;
		unsigned long eidx, i, start_off, end_off;
find_block:
		sidx = find_next_zero_bit(bdata->node_bootmem_map, midx, sidx);
		sidx = align_idx(bdata, sidx, step);
		eidx = sidx + PFN_UP(size);

		if (sidx >= midx || eidx > midx)
			break;

		for (i = sidx; i < eidx; i++)
			if (test_bit(i, bdata->node_bootmem_map)) {
				sidx = align_idx(bdata, i, step);
				if (sidx == i)
					sidx += step;
				goto find_block;
			}

		/* Pack behind the last allocation when it ended inside the page before. */
		if (bdata->last_end_off & (PAGE_SIZE - 1) &&
		    PFN_DOWN(bdata->last_end_off) + 1 == sidx)
			start_off = align_off(bdata, bdata->last_end_off, align);
		else
			start_off = PFN_PHYS(sidx);

		merge = PFN_DOWN(start_off) < sidx;
		end_off = start_off + size;

		bdata->last_end_off = end_off;
		bdata->hint_idx = PFN_UP(end_off);

		if (__reserve(bdata, PFN_DOWN(start_off) + merge, PFN_UP(end_off), BOOTMEM_EXCLUSIVE))
			BUG();

		*phys = PFN_PHYS(bdata->node_min_pfn) + start_off;
		mb_host_memset(mb_host_phys_to_virt(*phys), 0, size);
		return true;
	}

	if (fallback) {
		sidx = align_idx(bdata, fallback - 1, step);
		fallback = 0;
		goto find_block;
	}
	return false;
}

static bool alloc_bootmem_core(unsigned long size, unsigned long align, unsigned long goal,
			       unsigned long limit, unsigned long *phys)
{
	bootmem_data_t *bdata;

	for (bdata = bdata_list; bdata; bdata = bdata->next) {
		if (goal && bdata->node_low_pfn <= PFN_DOWN(goal))
			continue;
		if (limit && bdata->node_min_pfn >= PFN_DOWN(limit))
			break;

		if (alloc_bootmem_bdata(bdata, size, align, goal, limit, phys))
			return true;
	}
	return false;
}

/* A goal is a preference: without a fit above it, anywhere will do. */
static bool ___alloc_bootmem_nopanic(unsigned long size, unsigned long align,
				     unsigned long goal, unsigned long limit, unsigned long *phys)
{
restart:
	if (alloc_bootmem_core(size, align, goal, limit, phys))
		return true;
	if (goal) {
		goal = 0;
		goto restart;
	}
	return false;
}

/* The node first, then any node, then without the goal. */
static bool ___alloc_bootmem_node_nopanic(bootmem_data_t *bdata, unsigned long size,
					  unsigned long align, unsigned long goal,
					  unsigned long limit, unsigned long *phys)
{
again:
	/* A limit the goal already passes would BUG in alloc_bootmem_bdata. */
	if (limit && goal + size > limit)
		limit = 0;

	if (alloc_bootmem_bdata(bdata, size, align, goal, limit, phys))
		return true;
	if (alloc_bootmem_core(size, align, goal, limit, phys))
		return true;
	if (goal) {
		goal = 0;
		goto again;
	}
	return false;
}

/* ---- the hand-off to the buddy allocator ------------------------------------------ */

static void __free_pages_bootmem(unsigned long pfn, unsigned int order)
{
	if (mb_host_free_pages(pfn, order))
		bm_limit(__LINE__, "too many page blocks to record");
}

static unsigned long free_all_bootmem_core(bootmem_data_t *bdata)
{
	unsigned long *map, start, end, pages, cur, count = 0;

	if (!bdata->node_bootmem_map)
		return 0;

	map = bdata->node_bootmem_map;
	start = bdata->node_min_pfn;
	end = bdata->node_low_pfn;

	while (start < end) {
		unsigned long idx, vec;
		unsigned int shift;

		idx = start - bdata->node_min_pfn;
		shift = idx & (BITS_PER_LONG - 1);
		/* vec: up to BITS_PER_LONG free-page bits, bit 0 for `start` */
		vec = ~map[idx / BITS_PER_LONG];

		if (shift) {
			vec >>= shift;
			if (end - start >= BITS_PER_LONG)
				vec |= ~map[idx / BITS_PER_LONG + 1] << (BITS_PER_LONG - shift);
		}

		/* An aligned, wholly free BITS_PER_LONG block goes over in one piece. */
		if (IS_ALIGNED(start, BITS_PER_LONG) && vec == ~0UL) {
			__free_pages_bootmem(start, 6 /* ilog2(BITS_PER_LONG) */);
			count += BITS_PER_LONG;
			start += BITS_PER_LONG;
		} else {
			cur = start;

			start = ALIGN(start + 1, BITS_PER_LONG);
			while (vec && cur != start) {
				if (vec & 1) {
					__free_pages_bootmem(cur, 0);
					count++;
				}
				vec >>= 1;
				++cur;
			}
		}
	}

	/* The bitmap's own pages go over too. */
	cur = bdata->map_pfn;
	pages = bootmem_bootmap_pages(bdata->node_low_pfn - bdata->node_min_pfn);
	count += pages;
	while (pages--)
		__free_pages_bootmem(cur++, 0);
	free(bdata->node_bootmem_map);
	bdata->node_bootmem_map = NULL;

	return count;
}

static unsigned long free_all_bootmem(void)
{
	unsigned long total_pages = 0;
	bootmem_data_t *bdata;

	for (bdata = bdata_list; bdata; bdata = bdata->next)
		total_pages += free_all_bootmem_core(bdata);

	totalram_pages += total_pages;
	mb_host_totalram_add((long)total_pages);
	return total_pages;
}

/* ---- the bridge --------------------------------------------------------------------- */

#define BM_GUARDED(...)                                                        \
	do {                                                                   \
		if (setjmp(bm_unwind))                                         \
			return MB_ABORTED;                                     \
		__VA_ARGS__;                                                   \
		return MB_DONE;                                                \
	} while (0)

static void bm_reset(void)
{
	int nid;

	for (nid = 0; nid < MAX_NUMNODES; nid++)
		free(bootmem_node_data[nid].node_bootmem_map);
	memset(bootmem_node_data, 0, sizeof(bootmem_node_data));
	bdata_list = NULL;
	totalram_pages = 0;
}

/* NODE_DATA(nid)->bdata; a node id the machine cannot have is outside the simulation. */
static bootmem_data_t *bm_node(int nid)
{
	if (nid < 0 || nid >= MAX_NUMNODES)
		bm_limit(__LINE__, "node id outside 0..MAX_NUMNODES-1: no NODE_DATA");
	return &bootmem_node_data[nid];
}

/*
 * The arch initialises each node once, over pfns no other node has; a node
 * larger than BM_MAX_NODE_PAGES is beyond the simulation.
 */
static int bm_init_node(int nid, uint64_t start_pfn, uint64_t end_pfn, uint64_t map_pfn,
			uint64_t *mapsize)
{
	BM_GUARDED({
		bootmem_data_t *bdata = bm_node(nid), *other;

		if (bdata->linked)
			bm_limit(__LINE__, "node initialised twice: bdata_list would hold it twice");
		if (end_pfn < start_pfn || end_pfn - start_pfn > BM_MAX_NODE_PAGES ||
		    end_pfn > (ULONG_MAX >> PAGE_SHIFT))
			bm_limit(__LINE__, "node span too large for the simulated bitmap");
		for (other = bdata_list; other; other = other->next)
			if (start_pfn < other->node_low_pfn && other->node_min_pfn < end_pfn)
				bm_limit(__LINE__, "node spans overlap: each pfn has one node");
		*mapsize = init_bootmem_core(bdata, map_pfn, start_pfn, end_pfn);
	});
}

static int bm_free(uint64_t addr, uint64_t size)
{
	BM_GUARDED(free_bootmem(addr, size));
}

static int bm_free_node(int nid, uint64_t addr, uint64_t size)
{
	BM_GUARDED(free_bootmem_node(bm_node(nid), addr, size));
}

static int bm_reserve(uint64_t addr, uint64_t size, int flags, int *ret)
{
	BM_GUARDED(*ret = reserve_bootmem(addr, size, flags));
}

static int bm_reserve_node(int nid, uint64_t addr, uint64_t size, int flags, int *ret)
{
	BM_GUARDED(*ret = reserve_bootmem_node(bm_node(nid), addr, size, flags));
}

/*
 * Requests outside bootmem's specification, which its callers never made:
 * align 0 (align_off() then rounds to nothing and the packing path computes
 * an offset below the node), and a size so large that PFN_UP(size) wraps to
 * a handful of pages.
 */
static void bm_check_request(uint64_t size, uint64_t align)
{
	if (!align)
		bm_limit(__LINE__, "align 0 is outside bootmem's specification");
	if (size > ULONG_MAX - PAGE_SIZE + 1)
		bm_limit(__LINE__, "a size whose PFN_UP() wraps is outside bootmem's specification");
}

static int bm_alloc(uint64_t size, uint64_t align, uint64_t goal, uint64_t limit, int *found,
		    uint64_t *phys)
{
	BM_GUARDED({
		unsigned long addr = 0;

		bm_check_request(size, align);
		*found = ___alloc_bootmem_nopanic(size, align, goal, limit, &addr);
		*phys = addr;
	});
}

static int bm_alloc_node(int nid, uint64_t size, uint64_t align, uint64_t goal, uint64_t limit,
			 int *found, uint64_t *phys)
{
	BM_GUARDED({
		unsigned long addr = 0;

		bm_check_request(size, align);
		*found = ___alloc_bootmem_node_nopanic(bm_node(nid), size, align, goal, limit, &addr);
		*phys = addr;
	});
}

static int bm_free_all(uint64_t *pages)
{
	BM_GUARDED(*pages = free_all_bootmem());
}

static size_t bm_nodes(struct bm_node_info *out, size_t cap)
{
	size_t n = 0;
	bootmem_data_t *bdata;

	for (bdata = bdata_list; bdata; bdata = bdata->next, n++) {
		if (n >= cap)
			continue;
		out[n] = (struct bm_node_info){
			.nid = (int)(bdata - bootmem_node_data),
			.node_min_pfn = bdata->node_min_pfn,
			.node_low_pfn = bdata->node_low_pfn,
			.map_pfn = bdata->map_pfn,
			.hint_idx = bdata->hint_idx,
			.last_end_off = bdata->last_end_off,
			.has_map = bdata->node_bootmem_map != NULL,
		};
	}
	return n;
}

static void bm_reserved_runs(int nid, bm_run_sink sink, void *ctx)
{
	bootmem_data_t *bdata;
	unsigned long pages, idx = 0;

	if (nid < 0 || nid >= MAX_NUMNODES || !bootmem_node_data[nid].node_bootmem_map)
		return;
	bdata = &bootmem_node_data[nid];
	pages = bdata->node_low_pfn - bdata->node_min_pfn;
	while (idx < pages) {
		unsigned long end;

		if (!test_bit(idx, bdata->node_bootmem_map)) {
			idx++;
			continue;
		}
		for (end = idx; end < pages && test_bit(end, bdata->node_bootmem_map); end++)
			;
		sink(ctx, bdata->node_min_pfn + idx, bdata->node_min_pfn + end);
		idx = end;
	}
}

/* A broken copy (ci/bootmem-mutants.list) is built under another name. */
#ifndef BM_INSTANCE
#define BM_INSTANCE bm_bootmem
#endif

const struct bm_kernel BM_INSTANCE = {
	.reset = bm_reset,
	.init_node = bm_init_node,
	.free = bm_free,
	.free_node = bm_free_node,
	.reserve = bm_reserve,
	.reserve_node = bm_reserve_node,
	.alloc = bm_alloc,
	.alloc_node = bm_alloc_node,
	.free_all = bm_free_all,
	.nodes = bm_nodes,
	.reserved_runs = bm_reserved_runs,
};
