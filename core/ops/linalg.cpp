// matmul and linear.
//   C = A·B          dA = dC·B^T     dB = A^T·dC     (summed over broadcast batch dims)
// Transposed views reach the GEMM kernel as a transpose flag, not a copy.
#include "core/ops/dispatch.h"
#include "kernels/gemm.h"

namespace mg {

using namespace ops_detail;
namespace K = kernels;

namespace {

// A batch of matrices as GEMM sees it: pointer, transpose flag, leading dim, batch stride.
struct MatrixOperand {
    Tensor storage_owner;  // keeps a contiguous copy alive when one was needed
    const void* data = nullptr;
    bool trans = false;
    int64_t ld = 0;
    int64_t batch_stride = 0;
};

// x has shape [B..., r, c] (batch dims already broadcast to `batch`); finds a layout
// GEMM can read directly, copying only when the strides allow none.
MatrixOperand as_matrix(const Tensor& x, int64_t batch_count) {
    const int nd = x.dim();
    const int64_t r = x.shape()[nd - 2], c = x.shape()[nd - 1];
    const int64_t sr = x.strides()[nd - 2], sc = x.strides()[nd - 1];
    // One stride must step over all batch dims uniformly (or all be broadcast).
    auto batch_stride_of = [&](const Tensor& t, int64_t& out) {
        int64_t expected = -1;
        int64_t span = 1;
        for (int d = t.dim() - 3; d >= 0; --d) {
            if (t.shape()[d] == 1) continue;
            int64_t s = t.strides()[d];
            if (expected < 0) {
                expected = s;
                span = t.shape()[d];
                out = s;
                continue;
            }
            if (s != expected * span) return false;
            span *= t.shape()[d];
        }
        if (expected < 0) out = 0;
        return true;
    };
    MatrixOperand m;
    int64_t bs = 0;
    bool batch_ok = batch_stride_of(x, bs);
    if (batch_ok && (sc == 1 || c == 1) && sr >= std::max<int64_t>(c, 1)) {
        m = {x, x.raw_data(), false, std::max<int64_t>(sr, std::max<int64_t>(c, 1)), bs};
    } else if (batch_ok && (sr == 1 || r == 1) && sc >= std::max<int64_t>(r, 1)) {
        m = {x, x.raw_data(), true, std::max<int64_t>(sc, std::max<int64_t>(r, 1)), bs};
    } else {
        Tensor dense = x.contiguous();
        m = {dense, dense.raw_data(), false, std::max<int64_t>(c, 1), batch_count > 1 ? r * c : 0};
    }
    (void)batch_count;
    return m;
}

// The product without autograd: a [..., m, k] · b [..., k, n].
Tensor matmul_kernel(const Tensor& a, const Tensor& b) {
    const int64_t m = a.shape()[a.dim() - 2], k = a.shape()[a.dim() - 1];
    const int64_t k2 = b.shape()[b.dim() - 2], n = b.shape()[b.dim() - 1];
    MG_CHECK(k == k2, "matmul: inner dimensions differ, {} · {} ({} vs {})", a.shape(), b.shape(), k, k2);
    Shape batch_a, batch_b;
    for (int d = 0; d + 2 < a.dim(); ++d) batch_a.push_back(a.shape()[d]);
    for (int d = 0; d + 2 < b.dim(); ++d) batch_b.push_back(b.shape()[d]);
    Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
    Shape ea = batch, eb = batch, out_shape = batch;
    ea.push_back(m), ea.push_back(k);
    eb.push_back(k), eb.push_back(n);
    out_shape.push_back(m), out_shape.push_back(n);
    int64_t batch_count = batch.numel();
    Tensor y = empty(out_shape, {a.dtype(), a.device()});
    if (y.numel() == 0) return y;
    if (k == 0) return y.fill_(0.0);
    MatrixOperand A = as_matrix(a.expand(ea), batch_count), B = as_matrix(b.expand(eb), batch_count);
    K::GemmArgs g;
    g.trans_a = A.trans, g.trans_b = B.trans;
    g.m = m, g.n = n, g.k = k;
    g.lda = A.ld, g.ldb = B.ld, g.ldc = n;
    g.batch = batch_count;
    g.stride_a = A.batch_stride, g.stride_b = B.batch_stride, g.stride_c = m * n;
    K::gemm_table().get(a.device(), a.dtype())(g, A.data, B.data, y.raw_data());
    return y;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
    check_same_kind("matmul", a, b);
    check_floating("matmul", a);
    MG_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least one dimension, got {} and {}",
             a.shape(), b.shape());
    // Vectors become matrices and the added dimension is dropped afterwards, as NumPy.
    if (a.dim() == 1 && b.dim() == 1) {
        MG_CHECK(a.numel() == b.numel(), "matmul: vectors of different lengths {} and {}", a.shape(), b.shape());
        return sum(a * b);
    }
    if (a.dim() == 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
    if (b.dim() == 1) return matmul(a, b.unsqueeze(-1)).squeeze(-1);

    Tensor y;
    {
        autograd::NoGradGuard no_grad;
        y = matmul_kernel(a, b);
    }
    autograd::check_forward_anomaly("matmul", y);
    return autograd::record("matmul", y, {a, b}, [](const Tensor& g, const Saved& s) {
        Tensor a = s.input(0), b = s.input(1);
        return Grads{s.needs_grad(0) ? sum_to(matmul(g, b.transpose(-1, -2)), a.shape()) : Tensor(),
                     s.needs_grad(1) ? sum_to(matmul(a.transpose(-1, -2), g), b.shape()) : Tensor()};
    });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    check_defined("linear", x);
    check_defined("linear", weight, "weight");
    MG_CHECK(weight.dim() == 2, "linear: weight must be [out, in], got {}", weight.shape());
    MG_CHECK(x.dim() >= 1 && x.shape()[x.dim() - 1] == weight.shape()[1],
             "linear: input {} has {} features, weight {} expects {}", x.shape(),
             x.dim() ? x.shape()[x.dim() - 1] : 0, weight.shape(), weight.shape()[1]);
    if (bias.defined())
        MG_CHECK(bias.dim() == 1 && bias.shape()[0] == weight.shape()[0], "linear: bias {} does not match weight {}",
                 bias.shape(), weight.shape());
    // [..., in] -> [rows, in] so that one GEMM does the whole batch.
    Tensor x2 = x.dim() == 2 ? x : x.reshape(Shape{-1, weight.shape()[1]});
    Tensor y = matmul(x2, weight.t());
    if (bias.defined()) y = y + bias;
    if (x.dim() != 2) {
        Shape out = x.shape();
        out[out.size() - 1] = weight.shape()[0];
        y = y.reshape(out);
    }
    return y;
}

}  // namespace mg
