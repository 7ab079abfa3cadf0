#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "core/omp_wait_policy_startup.h"  // the CLI's wait policy: tests stay fast on a busy machine
