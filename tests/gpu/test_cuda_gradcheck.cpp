// The gradcheck list of tests/test_gradcheck.cpp (every op, first and second order, in
// float64), each op run on CUDA tensors.
#define MINIGEN_GRADCHECK_ON_CUDA
#include "tests/test_gradcheck.cpp"
