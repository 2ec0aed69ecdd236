# SPDX-License-Identifier: GPL-3.0-or-later
# Cross-compile Lethe for 64-bit ARM (Raspberry Pi 4/5 class) with Debian's
# aarch64-linux-gnu GCC against a sysroot (LETHE_SYSROOT, default build/sysroot-arm64).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

if(NOT DEFINED LETHE_SYSROOT)
  if(DEFINED ENV{LETHE_SYSROOT})
    set(LETHE_SYSROOT "$ENV{LETHE_SYSROOT}")
  else()
    set(LETHE_SYSROOT "${CMAKE_CURRENT_LIST_DIR}/../build/sysroot-arm64")
  endif()
endif()
set(CMAKE_SYSROOT "${LETHE_SYSROOT}")
# try_compile() projects re-read this file: hand them the same sysroot.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES LETHE_SYSROOT)
set(CMAKE_FIND_ROOT_PATH "${LETHE_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config must look only inside the sysroot.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${LETHE_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${LETHE_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${LETHE_SYSROOT}/usr/share/pkgconfig")

# Unit tests run under qemu-user when the emulator is installed.
find_program(LETHE_QEMU qemu-aarch64-static qemu-aarch64)
if(LETHE_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${LETHE_QEMU};-L;${LETHE_SYSROOT}")
endif()
