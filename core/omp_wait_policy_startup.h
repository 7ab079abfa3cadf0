// Include in the one source file of an executable that defines main(): the program then
// starts with minigen's OpenMP wait (core/runtime.h: spin ~50 us, then sleep, unless the
// user chose), so its threads do not spin away their time slices when another process
// wants the CPU.
//
// libgomp reads OMP_WAIT_POLICY in its own constructor, before main() and before any
// constructor of the program, so setting it there is too late; when the user chose no
// wait, the program starts again with one (core/runtime.h). Functions in an executable's
// .preinit_array run before every shared library's constructor, so the first start costs
// almost nothing. Only executables may have one (a shared library with it fails to link),
// which is why this is a header the executable includes and not part of the library.
#pragma once

#include "core/runtime.h"

namespace mg::startup {

static void apply_default_omp_wait_policy(int, char** argv, char** envp) { exec_with_default_omp_wait_policy(argv, envp); }

__attribute__((section(".preinit_array"), used)) static void (*const omp_wait_policy_preinit)(int, char**, char**) =
    &apply_default_omp_wait_policy;

}  // namespace mg::startup
