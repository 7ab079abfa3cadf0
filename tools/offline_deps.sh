#!/usr/bin/env bash
# Building minigen on a machine that cannot reach a package mirror (a GPU server, say).
#
#   tools/offline_deps.sh fetch DIR            on a Debian machine with apt: the .debs of the
#                                              build's header and library dependencies, into DIR
#   tools/offline_deps.sh unpack DIR PREFIX    on the other machine: unpack them under PREFIX
#                                              (no root, nothing installed system-wide), then print
#                                              the environment a build needs
#
# Then: eval "$(tools/offline_deps.sh unpack DIR PREFIX)" and configure as usual; CMake finds
# fmt, doctest, nlohmann_json and CLI11 through CMAKE_PREFIX_PATH, the stb and zlib headers
# through CPATH, and the programs find libfmt through LD_LIBRARY_PATH. The compiler, CMake,
# OpenMP and (for the GPU) the CUDA toolkit must already be on that machine.
set -euo pipefail

packages=(libfmt-dev libfmt9 doctest-dev zlib1g-dev nlohmann-json3-dev libcli11-dev libstb-dev libstb0)

case "${1:-}" in
    fetch)
        dir="${2:?usage: offline_deps.sh fetch DIR}"
        mkdir -p "$dir"
        (cd "$dir" && apt-get download "${packages[@]}")
        ;;
    unpack)
        dir="${2:?usage: offline_deps.sh unpack DIR PREFIX}"
        prefix="$(mkdir -p "${3:?usage: offline_deps.sh unpack DIR PREFIX}" && cd "$3" && pwd)"
        for deb in "$dir"/*.deb; do dpkg-deb -x "$deb" "$prefix"; done
        lib="$prefix/usr/lib/x86_64-linux-gnu"
        # zlib1g-dev's libz.so points at an absolute path of its own release: use this machine's libz.
        if [ ! -e "$lib/libz.so" ]; then
            system_libz="$(ls /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/libz.so.1 2>/dev/null | head -1)"
            [ -n "$system_libz" ] && ln -sf "$system_libz" "$lib/libz.so"
        fi
        echo "export CMAKE_PREFIX_PATH=$prefix/usr\${CMAKE_PREFIX_PATH:+:\$CMAKE_PREFIX_PATH}"
        echo "export CPATH=$prefix/usr/include\${CPATH:+:\$CPATH}"
        echo "export LIBRARY_PATH=$lib\${LIBRARY_PATH:+:\$LIBRARY_PATH}"
        echo "export LD_LIBRARY_PATH=$lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
        ;;
    *)
        sed -n '2,14p' "$0" >&2
        exit 2
        ;;
esac
