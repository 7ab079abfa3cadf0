// The SIMT emulation's stand-in for <cuda_runtime.h>: the runtime API and the execution model.
#pragma once

#include "cuda_runtime_api.h"
#include "simt.h"
