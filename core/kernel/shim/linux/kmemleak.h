/* SPDX-License-Identifier: GPL-2.0 */
/* mbfuzz shim: there is no kmemleak in the simulation. */
#ifndef MBFUZZ_SHIM_LINUX_KMEMLEAK_H
#define MBFUZZ_SHIM_LINUX_KMEMLEAK_H

#include <linux/types.h>

static inline void kmemleak_alloc_phys(phys_addr_t phys, size_t size, int gfp) {}
static inline void kmemleak_free_part_phys(phys_addr_t phys, size_t size) {}
static inline void dump_stack(void) {}

#endif
