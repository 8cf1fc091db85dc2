/* SPDX-License-Identifier: GPL-2.0 */
/* mbfuzz shim: just enough of the zone allocator for memblock_free_all(). */
#ifndef MBFUZZ_SHIM_LINUX_MMZONE_H
#define MBFUZZ_SHIM_LINUX_MMZONE_H

#include <linux/align.h>
#include <linux/types.h>

#define MAX_ORDER 11
#define pageblock_order (MAX_ORDER - 1)
#define pageblock_nr_pages (1UL << pageblock_order)
#define pageblock_align(pfn) ALIGN((pfn), pageblock_nr_pages)
#define pageblock_start_pfn(pfn) ALIGN_DOWN((pfn), pageblock_nr_pages)

enum zone_type { __MAX_NR_ZONES = 1 };
#define MAX_NR_ZONES __MAX_NR_ZONES

struct zone {
	atomic_long_t managed_pages;
};

typedef struct pglist_data {
	struct zone node_zones[MAX_NR_ZONES];
} pg_data_t;

/* No node is online before the buddy allocator exists. */
static inline struct pglist_data *first_online_pgdat(void) { return 0; }
static inline struct pglist_data *next_online_pgdat(struct pglist_data *p) { return 0; }
#define for_each_online_pgdat(pgdat) \
	for (pgdat = first_online_pgdat(); pgdat; pgdat = next_online_pgdat(pgdat))

static inline void atomic_long_set(atomic_long_t *v, long i) { v->counter = i; }

#endif
