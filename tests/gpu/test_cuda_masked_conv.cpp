// PixelCNN's masked convolution (kernels/masked_conv.h): every CUDA variant of the three
// faces against the CPU reference, types A and B, k = 1, 3 and 7, PixelCNN's own shapes
// included. The weight's hidden taps hold NaN: the reference never reads them, so a
// variant that let one into its sum fails. Errors are measured against the magnitude of
// the terms (the reference on |inputs|), as for conv2d in test_cuda_gemm_conv.cpp.
#include "kernels/masked_conv.h"
#include "tests/gpu/gpu_check.h"

namespace mg::kernels::gpu_test {
namespace {

MaskedConv2dShape masked_shape(int64_t n, int64_t c_in, int64_t h, int64_t w, int64_t c_out, int64_t k, char type) {
    MaskedConv2dShape s;
    s.n = n, s.c_in = c_in, s.h = h, s.w = w, s.c_out = c_out, s.k = k, s.type = type;
    return s;
}

std::vector<MaskedConv2dShape> masked_shapes() {
    return {
        masked_shape(2, 3, 9, 7, 5, 3, 'A'),     // odd sizes, H != W
        masked_shape(2, 3, 9, 7, 5, 3, 'B'),
        masked_shape(2, 2, 10, 8, 3, 7, 'A'),
        masked_shape(2, 2, 10, 8, 3, 7, 'B'),
        masked_shape(2, 2, 3, 4, 3, 7, 'B'),     // an image smaller than the kernel
        masked_shape(3, 4, 5, 6, 2, 1, 'B'),     // 1x1 B: a plain 1x1 conv (im2col skips the lowering)
        masked_shape(3, 4, 5, 6, 2, 1, 'A'),     // 1x1 A: no tap kept, every output 0
        masked_shape(4, 1, 28, 28, 64, 7, 'A'),  // PixelCNN's first layer
        masked_shape(4, 64, 28, 28, 64, 3, 'B'), // its residual layers
    };
}

// Is flat weight index i a hidden tap of s (tap kh*k + kw at or after the T kept ones)?
bool hidden_tap(const MaskedConv2dShape& s, size_t i) {
    return int64_t(i) % (s.k * s.k) >= masked_conv_taps(s.k, s.type);
}

// Runs every CUDA variant of one face on (a, b) into a sentinel-filled output of out_size
// elements, checks it against want (relative to the terms' magnitude mag), then calls
// extra(name, output, b as the variant left it).
template <class T, class Table, class Extra>
void check_face(Table& table, const std::string& face, const MaskedConv2dShape& s, const std::vector<T>& a,
                const std::vector<T>& b, size_t out_size, const std::vector<T>& want, const std::vector<T>& mag,
                Extra extra) {
    for_each_variant(table, dtype_of<T>::value, [&](const std::string& name, MaskedConv2dFn* fn, MaskedConv2dFn*) {
        DeviceBuffer da(a), db(b), dout(sentinel<T>(out_size));
        fn(s, da.get(), db.get(), dout.get());
        const auto out = dout.download<T>();
        expect_close(face + "[" + name + "]", out, want, rtol_for<T>(name), mag);
        extra(name, out, db.download<T>());
    });
}

template <class T>
void check_masked_conv() {
    constexpr DType t = dtype_of<T>::value;
    for (const MaskedConv2dShape& s : masked_shapes()) {
        INFO("masked_conv n=", s.n, " c_in=", s.c_in, " ", s.h, "x", s.w, " c_out=", s.c_out, " k=", s.k, " type=",
             s.type);
        const size_t x_size = size_t(s.n * s.c_in * s.h * s.w), y_size = size_t(s.n * s.c_out * s.h * s.w);
        const size_t w_size = size_t(s.c_out * s.c_in * s.k * s.k);
        const auto x = random_values<T>(x_size, -1, 1);
        const auto gy = random_values<T>(y_size, -1, 1);
        auto w = random_values<T>(w_size, -1, 1);
        for (size_t i = 0; i < w_size; ++i)
            if (hidden_tap(s, i)) w[i] = T(NAN);
        const auto x_abs = absolute(x), w_abs = absolute(w), gy_abs = absolute(gy);

        // The CPU reference once per face: want, and the magnitude of its terms.
        auto* forward_ref = masked_conv2d_forward_table().get("reference", Device::CPU, t);
        auto* backward_input_ref = masked_conv2d_backward_input_table().get("reference", Device::CPU, t);
        auto* backward_weight_ref = masked_conv2d_backward_weight_table().get("reference", Device::CPU, t);
        std::vector<T> y_want(y_size), y_mag(y_size), gx_want(x_size), gx_mag(x_size), gw_want(w_size), gw_mag(w_size);
        forward_ref(s, x.data(), w.data(), y_want.data());
        forward_ref(s, x_abs.data(), w_abs.data(), y_mag.data());
        backward_input_ref(s, gy.data(), w.data(), gx_want.data());
        backward_input_ref(s, gy_abs.data(), w_abs.data(), gx_mag.data());
        backward_weight_ref(s, x.data(), gy.data(), gw_want.data());
        backward_weight_ref(s, x_abs.data(), gy_abs.data(), gw_mag.data());

        // Every variant of each face on its two inputs, against want; the forward's weight is an
        // input (left as it was, hidden NaNs included), the weight gradient's hidden taps are 0.
        check_face<T>(masked_conv2d_forward_table(), "masked_conv2d_forward", s, x, w, y_size, y_want, y_mag,
                      [&](const std::string& name, const std::vector<T>&, const std::vector<T>& w_after) {
                          CHECK_MESSAGE(std::memcmp(w_after.data(), w.data(), w_size * sizeof(T)) == 0,
                                        "masked_conv2d_forward[", name, "] modified w");
                      });
        check_face<T>(masked_conv2d_backward_input_table(), "masked_conv2d_backward_input", s, gy, w, x_size, gx_want,
                      gx_mag, [](const std::string&, const std::vector<T>&, const std::vector<T>&) {});
        check_face<T>(masked_conv2d_backward_weight_table(), "masked_conv2d_backward_weight", s, x, gy, w_size,
                      gw_want, gw_mag, [&](const std::string& name, const std::vector<T>& gw, const std::vector<T>&) {
                          size_t nonzero_hidden = 0;
                          for (size_t i = 0; i < w_size; ++i)
                              if (hidden_tap(s, i) && !(gw[i] == T(0))) ++nonzero_hidden;
                          CHECK_MESSAGE(nonzero_hidden == 0, "masked_conv2d_backward_weight[", name, "]: ",
                                        nonzero_hidden, " hidden taps are not exactly 0");
                      });
    }
}

TEST_CASE("cuda masked_conv2d: forward, backward_input, backward_weight match the CPU reference") {
    check_masked_conv<float>();
    check_masked_conv<double>();
}

}  // namespace
}  // namespace mg::kernels::gpu_test
