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
  linux-source-6.1
)

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
