// minigen: one include for programs that use the library.
#pragma once

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/random.h"
#include "core/tensor.h"
#include "kernels/base.h"
#include "kernels/registry.h"
