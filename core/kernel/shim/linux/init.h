/* SPDX-License-Identifier: GPL-2.0 */
/* mbfuzz shim: section annotations vanish; early_param keeps its function used. */
#ifndef MBFUZZ_SHIM_LINUX_INIT_H
#define MBFUZZ_SHIM_LINUX_INIT_H

#include <linux/compiler.h>
#include <linux/export.h>
#include <linux/memory_hotplug.h>

#define __init
#define __initdata
#define __initconst
#define __meminit
#define __meminitdata
#define __refdata

#define early_param(str, fn) \
	static int (*const __mb_early_param_##fn)(char *) __attribute__((unused)) = fn
#define __initcall(fn) \
	static int (*const __mb_initcall_##fn)(void) __attribute__((unused)) = fn

#endif
