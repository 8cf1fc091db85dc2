# Shared by the ci/ scripts (sourced, not run).
#
# require_packages PKG...: every Debian package named must be installed. As
# root, missing ones are installed with apt; otherwise the exact apt-get line
# is printed and the script exits 2.

MBFUZZ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# What building and testing mbfuzz needs on Debian 12.
MBFUZZ_BUILD_PACKAGES=(
  cmake ninja-build g++ binutils xz-utils make
  libfmt-dev libcli11-dev libgtest-dev libboost-dev librapidcheck-dev
  liburcu-dev  # the kernel's own memblock suite (tools/lib/slab.c)
  libfdt-dev device-tree-compiler python3  # boot layouts from device trees (corpus/boot/gen-dtb-corpus)
  linux-source-6.1
)

# What the ground-truth boots of a real kernel need besides (ctest label qemu).
MBFUZZ_QEMU_PACKAGES=(qemu-system-x86)

# What the fuzz build (clang, libFuzzer) needs besides.
MBFUZZ_FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)

require_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "mbfuzz: missing packages. Install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  echo "mbfuzz: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build_tree PRESET: configure (once) and build with a CMake preset.
build_tree() {
  local preset=$1
  shift
  cmake --preset "$preset" -S "$MBFUZZ_ROOT" "$@" >/dev/null
  cmake --build --preset "$preset"
}

# copy_kernel_tree TREE DEST: the part of a kernel tree mbfuzz builds from,
# with mm/memblock.c's original kept as DEST/memblock.c.orig for mutating.
copy_kernel_tree() {
  local tree=$1 dest=$2
  mkdir -p "$dest/mm" "$dest/include/linux" "$dest/tools"
  cp "$tree/Makefile" "$dest/"
  cp "$tree/include/linux/memblock.h" "$tree/include/linux/gfp_types.h" "$dest/include/linux/"
  cp -r "$tree/tools/include" "$dest/tools/"
  cp "$tree/mm/memblock.c" "$dest/memblock.c.orig"
  cp "$tree/mm/memblock.c" "$dest/mm/memblock.c"
}

# mutate DEST LINE BROKEN: DEST/mm/memblock.c is the original with the first
# line equal to LINE replaced by BROKEN; fails if LINE is not there.
mutate() {
  MB_LINE="$2" MB_BROKEN="$3" \
    perl -0pe 's/^\Q$ENV{MB_LINE}\E$/$ENV{MB_BROKEN}/m or die "line not found\n"' \
    "$1/memblock.c.orig" >"$1/mm/memblock.c"
}

# The default tree, as the ci build extracted it.
default_kernel_tree() { echo "$MBFUZZ_ROOT/build/ci/kernel-tree/linux-source-6.1"; }

# fetch_kernel_image DIR: Debian's own amd64 kernel image of the same
# version as linux-source-6.1 (so the booted kernel runs the memblock.c under
# test), downloaded with apt and unpacked into DIR once; prints the vmlinuz path.
fetch_kernel_image() {
  local dir=$1 version pkg candidate versions
  mkdir -p "$dir"
  local existing
  existing=$(ls "$dir"/boot/vmlinuz-* 2>/dev/null | head -n 1 || true)
  if [ -n "$existing" ]; then echo "$existing"; return 0; fi
  version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
  find_image() {
    apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' | awk '{print $1}' |
      while read -r candidate; do
        # (apt-cache show PKG=VERSION succeeds even when there is no such version)
        versions=$(apt-cache madison "$candidate" | awk -F'|' '{gsub(/ /, "", $2); print $2}')
        if grep -qxF "$version" <<<"$versions"; then echo "$candidate"; fi
      done | head -n 1
  }
  pkg=$(find_image)
  if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    pkg=$(find_image)
  fi
  if [ -z "$pkg" ]; then
    echo "mbfuzz: no linux-image-6.1.0-*-amd64-unsigned of version $version in the apt lists;" >&2
    echo "  run: sudo apt-get update" >&2
    exit 2
  fi
  (cd "$dir" && apt-get download -q "$pkg=$version" >/dev/null 2>&1) || {
    echo "mbfuzz: apt-get download $pkg=$version failed" >&2
    exit 2
  }
  dpkg-deb --fsys-tarfile "$dir"/"$pkg"_*.deb | tar -x -C "$dir" --wildcards './boot/vmlinuz-*'
  rm -f "$dir"/"$pkg"_*.deb
  ls "$dir"/boot/vmlinuz-* | head -n 1
}
