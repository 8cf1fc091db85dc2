/* SPDX-License-Identifier: GPL-2.0 */
/* mbfuzz shim: the movable_node switch, set by the harness. */
#ifndef MBFUZZ_SHIM_LINUX_MEMORY_HOTPLUG_H
#define MBFUZZ_SHIM_LINUX_MEMORY_HOTPLUG_H

#include <stdbool.h>
#include <linux/numa.h>
#include <linux/cache.h>
#include <linux/types.h>

extern bool movable_node_enabled;

static inline bool movable_node_is_enabled(void)
{
	return movable_node_enabled;
}

#endif
