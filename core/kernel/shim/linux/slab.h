/* SPDX-License-Identifier: GPL-2.0 */
/* mbfuzz shim: slab availability is a harness switch; kmalloc is host memory. */
#ifndef MBFUZZ_SHIM_LINUX_SLAB_H
#define MBFUZZ_SHIM_LINUX_SLAB_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/gfp.h>
#include "memblock_bridge.h"

extern bool mb_slab_available;

static inline bool slab_is_available(void)
{
	return mb_slab_available;
}

static inline void *kmalloc(size_t size, gfp_t flags)
{
	return mb_host_kmalloc(size, 0);
}

static inline void *kzalloc_node(size_t size, gfp_t flags, int node)
{
	return mb_host_kmalloc(size, 1);
}

static inline void kfree(const void *p)
{
	mb_host_kfree(p);
}

#endif
