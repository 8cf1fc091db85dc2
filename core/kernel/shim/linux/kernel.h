/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbfuzz shim: the tree's tools/include kernel.h, with our BUG/WARN, printk
 * and panic, and memblock.c's memset/memcpy routed through the simulated
 * physical memory (so that zeroing is observed and writes outside the
 * simulated window are caught rather than corrupting the harness).
 */
#ifndef MBFUZZ_SHIM_LINUX_KERNEL_H
#define MBFUZZ_SHIM_LINUX_KERNEL_H

#include <asm/bug.h>
#include_next <linux/kernel.h>
#include <errno.h>
#include <string.h>
#include <linux/printk.h>
#include <linux/kconfig.h>
#include "memblock_bridge.h"

#define memset(dst, c, n) mb_host_memset((dst), (c), (n))
#define memcpy(dst, src, n) mb_kernel_memcpy((dst), (src), (n))
void *mb_kernel_memcpy(void *dst, const void *src, size_t n);

void mb_kernel_panic(const char *file, int line, const char *fmt, ...) __attribute__((noreturn));
/* tools/include defines BUG() in terms of assert(). */
#undef BUG
#define BUG() mb_kernel_bug(__FILE__, __LINE__, "BUG()")

#define panic(fmt...) mb_kernel_panic(__FILE__, __LINE__, fmt)

#endif
