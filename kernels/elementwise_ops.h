// Every elementwise op, defined once: its math as a functor, and one line in a list.
//
// A functor is written against a value type T with a small math vocabulary (exp, expm1,
// log, log1p, sqrt, abs, tanh, sin, cos, erf, pow, max, min, select(mask, a, b)):
//   - host scalars (float, double, int64 where the op allows): the functions below, which
//     call the C library through kernels/cuda/device_math.cuh;
//   - device code (nvcc): the same functions, which resolve to CUDA's device math there;
//   - SIMD code: simd::Vec<S> (kernels/cpu/simd_vec.h), whose operators and math run on
//     the vector lanes of kernels/cpu/simd.h (exp, tanh, log1p as polynomials).
// An op with a vector form (the `simd` column) must use only the vector-capable words:
// arithmetic, <, >, select, abs, max, min, exp, tanh (float), log1p (float). The others may
// use plain C++ (?:, ==, casts), which keeps their scalar loops branchy where that is cheaper.
//
// The lists generate the kernel tables (elementwise.h), the CPU registrations and SIMD dense
// loops (kernels/cpu/elementwise*.cpp), the CUDA op enums, dispatch and registrations
// (kernels/cuda/), the variant and GPU tests and the bench rows. Plain C++: no fmt, so that
// nvcc, g++ host code and the *_avx*.cpp files all include it.
#pragma once

#include <cstdint>

#include "kernels/cuda/device_math.cuh"

namespace mg::kernels::ew {

// ---- the math vocabulary on scalars ------------------------------------------------------

#define MG_EW_SCALAR_MATH(fn)                                        \
    MG_HOST_DEVICE float fn(float x) { return cuda::dev_##fn(x); }   \
    MG_HOST_DEVICE double fn(double x) { return cuda::dev_##fn(x); }
MG_EW_SCALAR_MATH(exp)
MG_EW_SCALAR_MATH(expm1)
MG_EW_SCALAR_MATH(log)
MG_EW_SCALAR_MATH(log1p)
MG_EW_SCALAR_MATH(sqrt)
MG_EW_SCALAR_MATH(abs)
MG_EW_SCALAR_MATH(tanh)
MG_EW_SCALAR_MATH(sin)
MG_EW_SCALAR_MATH(cos)
MG_EW_SCALAR_MATH(erf)
#undef MG_EW_SCALAR_MATH
MG_HOST_DEVICE float pow(float x, float y) { return cuda::dev_pow(x, y); }
MG_HOST_DEVICE double pow(double x, double y) { return cuda::dev_pow(x, y); }
// std::max / std::min: the first operand when the comparison is false (a NaN a stays).
template <class T> MG_HOST_DEVICE T max(T a, T b) { return a < b ? b : a; }
template <class T> MG_HOST_DEVICE T min(T a, T b) { return b < a ? b : a; }
// Both sides are already computed: a select, not a branch (it vectorises; see elementwise.cpp).
template <class T> MG_HOST_DEVICE T select(bool m, T a, T b) { return m ? a : b; }

// The scalar parameters of an op (kernels::Scalars) in its value type: slope, alpha, bounds...
template <class T> struct Params {
    T a, b;
};

// ---- unary ops: y = f(x, p) ---------------------------------------------------------------

#define MG_EW_UNARY(Name, ...)                                                     \
    struct Name {                                                                  \
        template <class T> MG_HOST_DEVICE T operator()(T x, [[maybe_unused]] Params<T> p) const { \
            __VA_ARGS__                                                            \
        }                                                                          \
    };

MG_EW_UNARY(Neg, return -x;)
MG_EW_UNARY(Exp, return exp(x);)
MG_EW_UNARY(Log, return log(x);)
MG_EW_UNARY(Sqrt, return sqrt(x);)
MG_EW_UNARY(Abs, return abs(x);)
MG_EW_UNARY(Sign, return T((x > T(0)) - (x < T(0)));)
MG_EW_UNARY(Tanh, return tanh(x);)
// sin and cos have no vector form: a polynomial needs an exact argument reduction to stay
// accurate for large |x|, and libm's scalar loop is fast enough for toy data.
MG_EW_UNARY(Sin, return sin(x);)
MG_EW_UNARY(Cos, return cos(x);)
// e = e^-|x| <= 1: 1/(1 + e) for x >= 0, e/(1 + e) below, one division either way: exp never
// overflows and the small tail for very negative x keeps its precision.
MG_EW_UNARY(Sigmoid, const T e = exp(-abs(x)); return select(x < T(0), e, T(1)) / (T(1) + e);)
MG_EW_UNARY(Relu, return select(x > T(0), x, T(0));)
MG_EW_UNARY(LeakyRelu, return select(x > T(0), x, p.a * x);)
// A branch: expm1 only where it is needed (no vector form).
MG_EW_UNARY(Elu, return x > T(0) ? x : p.a * expm1(x);)
// ln(1 + e^x) = max(x, 0) + log1p(e^-|x|): exact and never overflows.
MG_EW_UNARY(Softplus, return max(x, T(0)) + log1p(exp(-abs(x)));)
MG_EW_UNARY(Erf, return erf(x);)
MG_EW_UNARY(Gelu, return T(0.5) * x * (T(1) + erf(x * T(0.70710678118654752440)));)
MG_EW_UNARY(Clamp, return min(max(x, p.a), p.b);)
MG_EW_UNARY(PowScalar, return p.a == T(2) ? x * x : pow(x, p.a);)  // x^2: the common case, exact
MG_EW_UNARY(Affine, return p.a * x + p.b;)
// x sigmoid(x) with the stable sigmoid: -0 for very negative x where x / (1 + e^-x) overflows.
MG_EW_UNARY(Silu, return x * Sigmoid{}(x, p);)
// x tanh(softplus(x)) with the stable softplus: x itself for large x, where ln(1 + e^x) overflows.
MG_EW_UNARY(Mish, return x * tanh(Softplus{}(x, p));)

#undef MG_EW_UNARY

// ---- binary ops: out = f(a, b) (T, or uint8 0/1 for the comparisons) ----------------------

#define MG_EW_BINARY(Name, ...)                                              \
    struct Name {                                                            \
        template <class T> MG_HOST_DEVICE auto operator()(T a, T b) const { \
            __VA_ARGS__                                                      \
        }                                                                    \
    };

MG_EW_BINARY(Add, return T(a + b);)
MG_EW_BINARY(Sub, return T(a - b);)
MG_EW_BINARY(Mul, return T(a * b);)
MG_EW_BINARY(Div, return T(a / b);)
MG_EW_BINARY(Pow, return pow(a, b);)
// NaN propagates (a NaN a wins; a NaN b fails a >= b); ties keep a.
MG_EW_BINARY(Maximum, return (a >= b || a != a) ? a : b;)
MG_EW_BINARY(Minimum, return (a <= b || a != a) ? a : b;)
MG_EW_BINARY(Eq, return uint8_t(a == b);)
MG_EW_BINARY(Ne, return uint8_t(a != b);)
MG_EW_BINARY(Gt, return uint8_t(a > b);)
MG_EW_BINARY(Ge, return uint8_t(a >= b);)
MG_EW_BINARY(Lt, return uint8_t(a < b);)
MG_EW_BINARY(Le, return uint8_t(a <= b);)
// Backward helpers of activations (a = y, the forward's output; b = the output's gradient).
MG_EW_BINARY(TanhBackward, return T(b * (T(1) - a * a));)
MG_EW_BINARY(SigmoidBackward, return T(b * (a * (T(1) - a)));)

#undef MG_EW_BINARY

// ---- binary ops with scalar parameters: out = f(a, b, p) -----------------------------------

// The backward of leaky_relu (a = x) and relu (a = y, p.a = 0): a > 0 ? g : slope g.
struct LeakyReluBackward {
    template <class T> MG_HOST_DEVICE T operator()(T a, T g, Params<T> p) const {
        return select(a > T(0), g, p.a * g);
    }
};

// ---- the lists ------------------------------------------------------------------------------
//
// Columns:
//   name    the kernel table (name_table()) and the op's name in tests and the bench
//   Op      the functor above
//   cost    cheap | math: a SIMD loop starts threads above 128k (cheap) or 32k (math) elements
//   simd    none | f32 | all: which dtypes get an avx2/avx512 dense loop from the functor
//   dtypes  floats | floats_int64 | floats_int64_uint8: the value types registered
//           (int64 and uint8: the reference loop on the CPU)
//   sample  real | whole: test inputs drawn from [lo, hi] (whole: integer values, so that ties
//           a == b and a == 0 are met); a, b: the Scalars the tests and the bench pass
//   doc     what the op computes

//       name        Op          cost   simd  dtypes        lo    hi  a     b     doc
#define MG_UNARY_OPS(X)                                                                        \
    X(neg,        Neg,        cheap, none, floats_int64, -4,   4,  0,    0,    "-x")           \
    X(exp,        Exp,        math,  all,  floats,       -10,  10, 0,    0,    "e^x")          \
    X(log,        Log,        math,  none, floats,       1e-3, 100, 0,   0,    "ln x")         \
    X(sqrt,       Sqrt,       cheap, none, floats,       0,    100, 0,   0,    "sqrt x")       \
    X(abs,        Abs,        cheap, none, floats,       -4,   4,  0,    0,    "|x|")          \
    X(sign,       Sign,       cheap, none, floats,       -4,   4,  0,    0,    "-1, 0, 1")     \
    X(tanh,       Tanh,       math,  f32,  floats,       -6,   6,  0,    0,    "tanh x")       \
    X(sin,        Sin,        math,  none, floats,       -10,  10, 0,    0,    "sin x (radians)") \
    X(cos,        Cos,        math,  none, floats,       -10,  10, 0,    0,    "cos x (radians)") \
    X(sigmoid,    Sigmoid,    math,  all,  floats,       -20,  20, 0,    0,    "1 / (1 + e^-x)") \
    X(relu,       Relu,       cheap, none, floats,       -4,   4,  0,    0,    "max(x, 0)")    \
    X(leaky_relu, LeakyRelu,  cheap, all,  floats,       -4,   4,  0.2,  0,    "x > 0 ? x : a*x") \
    X(elu,        Elu,        math,  none, floats,       -6,   4,  1.0,  0,    "x > 0 ? x : a*(e^x - 1)") \
    X(softplus,   Softplus,   math,  f32,  floats,       -20,  20, 0,    0,    "ln(1 + e^x), stable for large |x|") \
    X(erf,        Erf,        math,  none, floats,       -4,   4,  0,    0,    "erf x")        \
    X(gelu,       Gelu,       math,  none, floats,       -6,   6,  0,    0,    "x * Phi(x) (exact, erf form)") \
    X(clamp,      Clamp,      cheap, none, floats,       -2,   2,  -0.5, 0.5,  "min(max(x, a), b)") \
    X(pow_scalar, PowScalar,  math,  none, floats,       0,    4,  1.5,  0,    "x^a")          \
    X(affine,     Affine,     cheap, none, floats_int64, -4,   4,  2.0,  -1.0, "a*x + b (scalar add, scale, rsub)") \
    X(silu,       Silu,       math,  all,  floats,       -20,  20, 0,    0,    "x * sigmoid(x)") \
    X(mish,       Mish,       math,  f32,  floats,       -20,  20, 0,    0,    "x * tanh(softplus(x))")

//       name              Op               dtypes              sample a_lo a_hi b_lo  b_hi doc
#define MG_BINARY_OPS(X)                                                                          \
    X(add,              Add,             floats_int64,       real,  -1,  1,   -1,   1,   "a + b")   \
    X(sub,              Sub,             floats_int64,       real,  -1,  1,   -1,   1,   "a - b")   \
    X(mul,              Mul,             floats_int64,       real,  -2,  2,   -2,   2,   "a * b")   \
    X(div,              Div,             floats,             real,  -2,  2,   0.25, 4,   "a / b")   \
    X(pow,              Pow,             floats,             real,  0.01, 4,  -2,   2,   "a^b")     \
    X(maximum,          Maximum,         floats_int64,       whole, -3,  3,   -3,   3,   "max(a, b), NaN wins") \
    X(minimum,          Minimum,         floats_int64,       whole, -3,  3,   -3,   3,   "min(a, b), NaN wins") \
    X(eq,               Eq,              floats_int64_uint8, whole, -3,  3,   -3,   3,   "a == b (uint8)") \
    X(ne,               Ne,              floats_int64_uint8, whole, -3,  3,   -3,   3,   "a != b (uint8)") \
    X(gt,               Gt,              floats_int64,       whole, -3,  3,   -3,   3,   "a > b (uint8)")  \
    X(ge,               Ge,              floats_int64,       whole, -3,  3,   -3,   3,   "a >= b (uint8)") \
    X(lt,               Lt,              floats_int64,       whole, -3,  3,   -3,   3,   "a < b (uint8)")  \
    X(le,               Le,              floats_int64,       whole, -3,  3,   -3,   3,   "a <= b (uint8)") \
    X(tanh_backward,    TanhBackward,    floats,             real,  -1,  1,   -3,   3,   "b * (1 - a^2), a = tanh x") \
    X(sigmoid_backward, SigmoidBackward, floats,             real,  0,   1,   -3,   3,   "b * a * (1 - a), a = sigmoid x")

//       name                 Op                 cost   simd dtypes  sample a_lo a_hi b_lo b_hi a    b  doc
#define MG_BINARY_SCALAR_OPS(X)                                                                   \
    X(leaky_relu_backward, LeakyReluBackward, cheap, all, floats, whole, -3, 3, -3, 3, 0.2, 0, \
      "a > 0 ? b : a*b, a = x (relu: a = y, slope 0)")

// ---- what the lists say, per functor: op_info<Op> --------------------------------------------

enum class Cost : uint8_t { cheap, math };
enum class Simd : uint8_t { none, f32, all };
enum class Dtypes : uint8_t { floats, floats_int64, floats_int64_uint8 };
enum class Sample : uint8_t { real, whole };

struct OpInfo {
    const char* name;
    const char* doc;
    Cost cost;
    Simd simd;
    Dtypes dtypes;
    Sample sample;
    double lo, hi;      // first input (unary: the input)
    double b_lo, b_hi;  // second input (binary)
    double a, b;        // Scalars
};
template <class Op> inline constexpr OpInfo op_info = {};

#define MG_EW_UNARY_INFO(name, Op, cost, simd, dtypes, lo, hi, a, b, doc)                                   \
    template <> inline constexpr OpInfo op_info<Op> = {#name, doc, Cost::cost, Simd::simd, Dtypes::dtypes, \
                                                       Sample::real, lo, hi, 0, 0, a, b};
#define MG_EW_BINARY_INFO(name, Op, dtypes, sample, a_lo, a_hi, b_lo, b_hi, doc)                                 \
    template <> inline constexpr OpInfo op_info<Op> = {#name,           doc,          Cost::cheap, Simd::none, \
                                                       Dtypes::dtypes, Sample::sample, a_lo, a_hi, b_lo, b_hi, 0, 0};
#define MG_EW_BINARY_SCALAR_INFO(name, Op, cost, simd, dtypes, sample, a_lo, a_hi, b_lo, b_hi, a, b, doc)       \
    template <> inline constexpr OpInfo op_info<Op> = {#name,           doc,          Cost::cost, Simd::simd, \
                                                       Dtypes::dtypes, Sample::sample, a_lo, a_hi, b_lo, b_hi, a, b};
MG_UNARY_OPS(MG_EW_UNARY_INFO)
MG_BINARY_OPS(MG_EW_BINARY_INFO)
MG_BINARY_SCALAR_OPS(MG_EW_BINARY_SCALAR_INFO)
#undef MG_EW_UNARY_INFO
#undef MG_EW_BINARY_INFO
#undef MG_EW_BINARY_SCALAR_INFO

// X(Op, T) for each value type the simd column gives a dense loop: MG_EW_SIMD_TYPES_##simd(X, Op).
#define MG_EW_SIMD_TYPES_none(X, Op)
#define MG_EW_SIMD_TYPES_f32(X, Op) X(Op, float)
#define MG_EW_SIMD_TYPES_all(X, Op) X(Op, float) X(Op, double)

}  // namespace mg::kernels::ew
