/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbfuzz shim: pages and the linear map. __va/__pa translate into the
 * harness's simulated physical memory, so physical addresses keep their real
 * values (low memory, 4 GiB limits and the top of the address space included).
 */
#ifndef MBFUZZ_SHIM_LINUX_MM_H
#define MBFUZZ_SHIM_LINUX_MM_H

#include <linux/align.h>
#include <linux/types.h>
#include <linux/mmzone.h>
#include "memblock_bridge.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PAGE_ALIGN(addr) ALIGN(addr, PAGE_SIZE)

#define PHYS_ADDR_MAX (~(phys_addr_t)0)

#define __va(x) mb_host_phys_to_virt((phys_addr_t)(x))
#define __pa(x) ((phys_addr_t)mb_host_virt_to_phys(x))
#define phys_to_virt(x) __va(x)

/*
 * There is no memory map: a struct page is identified by its pfn. The size is
 * the kernel's, for free_memmap()'s arithmetic; the base is any non-NULL
 * address, since nothing dereferences a page.
 */
struct page {
	unsigned long memmap_entry[8];
};
#define pfn_to_page(pfn) ((struct page *)0x1000UL + (pfn))

static inline void reserve_bootmem_region(phys_addr_t start, phys_addr_t end) {}

static inline void totalram_pages_inc(void)
{
	mb_host_totalram_add(1);
}

static inline void totalram_pages_add(long count)
{
	mb_host_totalram_add(count);
}

#endif
