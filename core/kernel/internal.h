/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbfuzz shim for mm/internal.h, which memblock.c includes as "internal.h":
 * the mirrored_kernelcore switch and the buddy allocator's entry point.
 */
#ifndef MBFUZZ_SHIM_MM_INTERNAL_H
#define MBFUZZ_SHIM_MM_INTERNAL_H

#include <stdbool.h>
#include "memblock_bridge.h"

extern bool mirrored_kernelcore;

/* Ends the call as a simulation limit: the harness cannot follow it further. */
void mb_kernel_limit(const char *file, int line, const char *what) __attribute__((noreturn));

static inline void memblock_free_pages(struct page *page, unsigned long pfn, unsigned int order)
{
	if (mb_host_free_pages(pfn, order))
		mb_kernel_limit(__FILE__, __LINE__, "more page blocks handed to the buddy allocator than recorded");
}

#endif
