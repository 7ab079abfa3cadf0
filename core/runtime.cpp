#include "core/runtime.h"

#include <omp.h>

#include "kernels/base.h"
#include "kernels/device.h"

#ifndef MINIGEN_COMPILER
#define MINIGEN_COMPILER "unknown"
#define MINIGEN_BUILD_TYPE "unknown"
#define MINIGEN_CXX_FLAGS ""
#endif

namespace mg {

void set_num_threads(int n) {
    MG_CHECK(n >= 1, "set_num_threads: need at least one thread, got {}", n);
    omp_set_num_threads(n);
}
int num_threads() { return omp_get_max_threads(); }

BuildInfo build_info() {
    return {"0.1.0", MINIGEN_COMPILER, MINIGEN_BUILD_TYPE, MINIGEN_CXX_FLAGS, kernels::cuda::built_with_cuda()};
}

}  // namespace mg
