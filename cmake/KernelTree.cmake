# Resolves the kernel tree whose mm/memblock.c is the system under test.
#
# MEMBLOCK_KERNEL_SRC=DIR names a kernel source tree root. Left empty, the
# default is Debian's linux-source-6.1 package: the few files a userspace build
# needs are extracted from its tarball into the build tree, once, and again only
# when the tarball changes.
#
# Outputs:
#   MB_KERNEL_TREE        the tree in use (absolute)
#   MB_KERNEL_STAGE       a build-local directory with mm/memblock.c and
#                         linux/memblock.h linked from the tree, so that
#                         memblock.c's "internal.h" resolves to our shim and not
#                         to the tree's mm/internal.h
#   MB_TOOLS_INCLUDE      <tree>/tools/include
#   MB_KERNEL_VERSION     "6.1.192" style version read from the tree's Makefile

set(MEMBLOCK_KERNEL_SRC "" CACHE PATH
    "Kernel source tree root whose mm/memblock.c is tested (empty: Debian's linux-source-6.1)")
set(MEMBLOCK_DEFAULT_TARBALL "/usr/src/linux-source-6.1.tar.xz" CACHE FILEPATH
    "Tarball of the default kernel tree")

set(_mb_needed_paths
    mm/memblock.c
    include/linux/memblock.h
    include/linux/gfp_types.h    # tools/include/linux/gfp_types.h includes it
    tools/include
    Makefile)

function(_mb_extract_default_tree out_tree)
  set(tarball "${MEMBLOCK_DEFAULT_TARBALL}")
  if(NOT EXISTS "${tarball}")
    message(FATAL_ERROR
      "mbfuzz: default kernel tree missing: ${tarball} does not exist.\n"
      "Install it with: apt-get install linux-source-6.1\n"
      "or point at a tree with -DMEMBLOCK_KERNEL_SRC=DIR")
  endif()
  get_filename_component(top "${tarball}" NAME)
  string(REGEX REPLACE "\\.tar\\.[a-z0-9]+$" "" top "${top}")   # linux-source-6.1
  set(dest "${CMAKE_BINARY_DIR}/kernel-tree")
  file(SIZE "${tarball}" size)
  file(TIMESTAMP "${tarball}" mtime "%s" UTC)
  # The member list is part of the stamp: a longer list extracts again.
  set(stamp_text "${tarball} ${size} ${mtime} members 4")
  set(stamp "${dest}/.extracted-from")
  if(EXISTS "${stamp}")
    file(READ "${stamp}" old_stamp)
  endif()
  if(NOT old_stamp STREQUAL stamp_text OR NOT EXISTS "${dest}/${top}/mm/memblock.c")
    message(STATUS "mbfuzz: extracting memblock sources from ${tarball}")
    file(REMOVE_RECURSE "${dest}")
    file(MAKE_DIRECTORY "${dest}")
    set(members "")
    foreach(p IN LISTS _mb_needed_paths)
      list(APPEND members "${top}/${p}")
    endforeach()
    # The kernel's own userspace suite: built beside us for comparisons and
    # to run the C tests mbfuzz emits (ci/kernel-suite-check).
    list(APPEND members "${top}/tools/testing/memblock" "${top}/tools/lib/slab.c"
                        "${top}/tools/arch/x86/include"
                        "${top}/tools/testing/selftests/kselftest.h"
                        "${top}/arch/x86/include/asm/asm.h" "${top}/arch/x86/include/asm/cmpxchg.h"
                        "${top}/Documentation/core-api/boot-time-mm.rst"
                        # Every device tree, for corpus/boot/gen-dtb-corpus (ctest boot.dtb_tree).
                        "${top}/arch/*/boot/dts" "${top}/scripts/dtc/include-prefixes"
                        "${top}/include/dt-bindings"
                        "${top}/include/uapi/linux/input-event-codes.h")
    execute_process(
      COMMAND tar -I "xz -T0" --wildcards -xf "${tarball}" ${members}
      WORKING_DIRECTORY "${dest}"
      RESULT_VARIABLE rc ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "mbfuzz: extracting ${tarball} failed: ${err}")
    endif()
    file(WRITE "${stamp}" "${stamp_text}")
  endif()
  set(${out_tree} "${dest}/${top}" PARENT_SCOPE)
endfunction()

if(MEMBLOCK_KERNEL_SRC)
  get_filename_component(MB_KERNEL_TREE "${MEMBLOCK_KERNEL_SRC}" ABSOLUTE)
  if(NOT IS_DIRECTORY "${MB_KERNEL_TREE}")
    message(FATAL_ERROR "mbfuzz: MEMBLOCK_KERNEL_SRC is not a directory: ${MB_KERNEL_TREE}")
  endif()
else()
  _mb_extract_default_tree(MB_KERNEL_TREE)
endif()

foreach(p IN LISTS _mb_needed_paths)
  if(NOT EXISTS "${MB_KERNEL_TREE}/${p}")
    message(FATAL_ERROR
      "mbfuzz: kernel tree ${MB_KERNEL_TREE} lacks ${MB_KERNEL_TREE}/${p}")
  endif()
endforeach()

file(STRINGS "${MB_KERNEL_TREE}/Makefile" _mb_version_lines
     REGEX "^(VERSION|PATCHLEVEL|SUBLEVEL) = [0-9]+$" LIMIT_COUNT 3)
set(MB_KERNEL_VERSION "")
foreach(line IN LISTS _mb_version_lines)
  string(REGEX REPLACE "^[A-Z]+ = " "" n "${line}")
  list(APPEND MB_KERNEL_VERSION "${n}")
endforeach()
list(LENGTH MB_KERNEL_VERSION _mb_len)
if(NOT _mb_len EQUAL 3)
  message(FATAL_ERROR "mbfuzz: cannot read VERSION/PATCHLEVEL/SUBLEVEL from ${MB_KERNEL_TREE}/Makefile")
endif()
list(GET MB_KERNEL_VERSION 0 MB_KERNEL_VERSION_MAJOR)
list(GET MB_KERNEL_VERSION 1 MB_KERNEL_VERSION_MINOR)
list(GET MB_KERNEL_VERSION 2 MB_KERNEL_VERSION_PATCH)
string(REPLACE ";" "." MB_KERNEL_VERSION "${MB_KERNEL_VERSION}")

set(MB_TOOLS_INCLUDE "${MB_KERNEL_TREE}/tools/include")
set(MB_KERNEL_STAGE "${CMAKE_BINARY_DIR}/kernel-stage")
file(MAKE_DIRECTORY "${MB_KERNEL_STAGE}/mm" "${MB_KERNEL_STAGE}/include/linux")
file(CREATE_LINK "${MB_KERNEL_TREE}/mm/memblock.c" "${MB_KERNEL_STAGE}/mm/memblock.c" SYMBOLIC)
file(CREATE_LINK "${MB_KERNEL_TREE}/include/linux/memblock.h"
     "${MB_KERNEL_STAGE}/include/linux/memblock.h" SYMBOLIC)
message(STATUS "mbfuzz: kernel tree ${MB_KERNEL_TREE} (Linux ${MB_KERNEL_VERSION})")
