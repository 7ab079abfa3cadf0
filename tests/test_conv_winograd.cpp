// conv2d "winograd" (kernels/cpu/conv_winograd_avx512.cpp): F(2x2, 2x2) over the 4 phases of
// the 4x4 stride-2 pad-1 conv, and F(2x2, 3x3) for the 3x3 stride-1 pad-1 conv
// (conv_winograd3x3_avx512.cpp). Each face against the float64 reference, the adjoint identity
// in float32, odd input and output sizes, the fallback shapes (bitwise polyphase), 1/2/3 threads, and
// the routing of the dcgan and classifier shapes.
//
// Tolerance: the transforms' entries are 0 and +-1, so a transformed value is an exact-ish
// sum of at most 4 inputs (|V| <= 4 max|x|, |U| <= 4 max|w|), and each output sums 4 of the
// 9 GEMM products over K = 4*C_in terms: the float32 rounding is that of a dot product of
// length 16*C_in over operands up to 16x the direct conv's, a random-walk error of about
// u * sqrt(16*C_in) * 16 * |x||w| ~ 1e-6 relative at C_in = 64 for inputs in [-1, 1]
// (measured: about 2.5x polyphase's error, docs/kernels.md). 1e-5 of max|y| leaves a factor
// ~5 over the measured worst, and a wrong transform entry gives errors of order 1.
// F(2x2, 3x3): |V| <= 4 max|x|, |U| <= 2.25 max|w|, each output sums 9 of the 16 products over
// K = C_in terms, a smaller dot product than above: the same bound holds.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include "helpers.h"
#include "kernels/conv.h"
#include "kernels/cpu/conv_variants.h"
#include "kernels/cpu/cpu_features.h"

namespace mk = mg::kernels;
using mg::Device;
using mg::DType;

namespace {

// n, c_in, h, w, c_out: a 4x4 stride-2 pad-1 conv (OH = (H - 2) / 2 + 1).
mk::Conv2dShape conv4s2(int64_t n, int64_t c_in, int64_t h, int64_t w, int64_t c_out) {
    mk::Conv2dShape s;
    s.n = n, s.c_in = c_in, s.h = h, s.w = w, s.c_out = c_out, s.kh = 4, s.kw = 4;
    s.stride_h = s.stride_w = 2, s.pad_h = s.pad_w = 1, s.dil_h = s.dil_w = 1, s.groups = 1;
    s.oh = (h - 2) / 2 + 1, s.ow = (w - 2) / 2 + 1;
    return s;
}

// n, c_in, h, w, c_out: a 3x3 stride-1 pad-1 conv (OH = H).
mk::Conv2dShape conv3s1(int64_t n, int64_t c_in, int64_t h, int64_t w, int64_t c_out) {
    mk::Conv2dShape s = conv4s2(n, c_in, h, w, c_out);
    s.kh = s.kw = 3, s.stride_h = s.stride_w = 1, s.oh = h, s.ow = w;
    return s;
}

struct Faces {
    std::vector<float> y, gx, gw;
};

struct Operands {
    std::vector<float> x, w, gy;
};

Operands random_operands(const mk::Conv2dShape& s, std::mt19937_64& rng) {
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    auto fill = [&](int64_t n) {
        std::vector<float> v(static_cast<size_t>(n));
        for (float& e : v) e = dist(rng);
        return v;
    };
    return {fill(s.n * s.c_in * s.h * s.w), fill(s.c_out * s.c_in * s.kh * s.kw),
            fill(s.n * s.c_out * s.oh * s.ow)};
}

Faces run_faces(const char* variant, const mk::Conv2dShape& s, const Operands& o) {
    Faces f{std::vector<float>(o.gy.size(), NAN), std::vector<float>(o.x.size(), NAN),
            std::vector<float>(o.w.size(), NAN)};
    mk::conv2d_forward_table().get(variant, Device::CPU, DType::Float32)(s, o.x.data(), o.w.data(), f.y.data());
    mk::conv2d_backward_input_table().get(variant, Device::CPU, DType::Float32)(s, o.gy.data(), o.w.data(),
                                                                                f.gx.data());
    mk::conv2d_backward_weight_table().get(variant, Device::CPU, DType::Float32)(s, o.x.data(), o.gy.data(),
                                                                                 f.gw.data());
    return f;
}

// The three faces in float64 from the same (float32) operands.
struct Reference {
    std::vector<double> y, gx, gw;
};

Reference reference_faces(const mk::Conv2dShape& s, const Operands& o) {
    const std::vector<double> x(o.x.begin(), o.x.end()), w(o.w.begin(), o.w.end()), gy(o.gy.begin(), o.gy.end());
    Reference r{std::vector<double>(gy.size()), std::vector<double>(x.size()), std::vector<double>(w.size())};
    mk::conv2d_forward_table().get("reference", Device::CPU, DType::Float64)(s, x.data(), w.data(), r.y.data());
    mk::conv2d_backward_input_table().get("reference", Device::CPU, DType::Float64)(s, gy.data(), w.data(),
                                                                                    r.gx.data());
    mk::conv2d_backward_weight_table().get("reference", Device::CPU, DType::Float64)(s, x.data(), gy.data(),
                                                                                     r.gw.data());
    return r;
}

// max |got - want| / max(1, max |want|); NaN gives infinity.
double relative_error(const std::vector<float>& got, const std::vector<double>& want) {
    double scale = 1.0, err = 0.0;
    for (double v : want) scale = std::max(scale, std::abs(v));
    for (size_t i = 0; i < got.size(); ++i) {
        const double e = std::abs(double(got[i]) - want[i]);
        if (!(e == e)) return INFINITY;
        err = std::max(err, e);
    }
    return err / scale;
}

template <class A, class B>
double dot(const std::vector<A>& a, const std::vector<B>& b, bool absolute = false) {
    double s = 0.0;
    for (size_t i = 0; i < a.size(); ++i) s += absolute ? std::abs(double(a[i]) * double(b[i])) : double(a[i]) * double(b[i]);
    return s;
}

// Winograd's shapes: square, odd input sizes (H = 2*OH + 1), H != W, several tiles per row;
// odd outputs (the last tile row or column padded): 7x7 (dcgan at 28x28), 5x6, 6x3, 5x4 from
// odd inputs, 1x3.
std::vector<mk::Conv2dShape> winograd_shapes() {
    return {conv4s2(3, 16, 8, 8, 16),   conv4s2(2, 16, 13, 9, 20),  conv4s2(3, 24, 16, 12, 32),
            conv4s2(2, 17, 20, 21, 19), conv4s2(4, 64, 16, 16, 128), conv4s2(2, 16, 14, 14, 16),
            conv4s2(3, 16, 10, 12, 20), conv4s2(2, 20, 12, 7, 16),  conv4s2(2, 17, 11, 9, 19),
            conv4s2(2, 16, 3, 6, 16),
            // 3x3 stride 1: the classifier's 32 -> 64 at 14x14, odd sizes (padded tiles), H != W, 3x1.
            conv3s1(3, 32, 14, 14, 64), conv3s1(2, 16, 7, 9, 20), conv3s1(2, 17, 5, 12, 19),
            conv3s1(2, 24, 8, 8, 16), conv3s1(3, 16, 3, 1, 16)};
}

constexpr double kTolerance = 1e-5;  // see the file comment

// Registered wherever AVX-512 is (the machines these tests run on); elsewhere nothing to test.
bool have_winograd() {
    mk::init();
    if (!mk::cpu::has_avx512()) return false;
    REQUIRE(mk::conv2d_forward_table().has("winograd", Device::CPU, DType::Float32));
    return true;
}

}  // namespace

TEST_CASE("conv2d winograd: every face against the float64 reference, next to polyphase") {
    if (!have_winograd()) return;  // AVX-512 only
    std::mt19937_64 rng(2026);
    for (const mk::Conv2dShape& s : winograd_shapes()) {
        CAPTURE(s.c_in); CAPTURE(s.h); CAPTURE(s.w); CAPTURE(s.c_out);
        REQUIRE(mk::cpu::conv2d_winograd_fits(s));
        const Operands o = random_operands(s, rng);
        const Reference r = reference_faces(s, o);
        const Faces wf = run_faces("winograd", s, o), pf = run_faces("polyphase", s, o);
        const double ey = relative_error(wf.y, r.y), egx = relative_error(wf.gx, r.gx),
                     egw = relative_error(wf.gw, r.gw);
        MESSAGE("C_in ", s.c_in, " C_out ", s.c_out, " ", s.h, "x", s.w, ": winograd forward ", ey,
                " backward_input ", egx, " backward_weight ", egw, "; polyphase ", relative_error(pf.y, r.y), " ",
                relative_error(pf.gx, r.gx), " ", relative_error(pf.gw, r.gw));
        CHECK(ey <= kTolerance);
        CHECK(egx <= kTolerance);
        CHECK(egw <= kTolerance);
    }
}

// <conv(x, w), gy> == <x, backward_input(gy, w)> == <w, backward_weight(x, gy)>: the three
// faces are one trilinear form, so a transform and its adjoint must agree. In float32 the
// three sides differ by the rounding of each face: kTolerance of sum |y gy| + |x gx| + |w gw|.
TEST_CASE("conv2d winograd: forward and both backward faces are adjoint") {
    if (!have_winograd()) return;
    std::mt19937_64 rng(11);
    for (const mk::Conv2dShape& s : winograd_shapes()) {
        CAPTURE(s.c_in); CAPTURE(s.h); CAPTURE(s.w);
        const Operands o = random_operands(s, rng);
        const Faces f = run_faces("winograd", s, o);
        const double via_y = dot(f.y, o.gy), via_x = dot(o.x, f.gx), via_w = dot(o.w, f.gw);
        const double scale = dot(f.y, o.gy, true) + dot(o.x, f.gx, true) + dot(o.w, f.gw, true);
        CHECK(std::abs(via_y - via_x) <= kTolerance * scale);
        CHECK(std::abs(via_y - via_w) <= kTolerance * scale);
    }
}

// The shapes winograd does not take run polyphase's code: the same bits.
TEST_CASE("conv2d winograd: other shapes fall back to polyphase bitwise") {
    if (!have_winograd()) return;
    std::mt19937_64 rng(5);
    mk::Conv2dShape stride1 = conv4s2(2, 16, 9, 9, 16);
    stride1.stride_h = stride1.stride_w = 1, stride1.oh = stride1.ow = 8;
    mk::Conv2dShape pad2 = conv4s2(2, 16, 10, 10, 16);
    pad2.pad_h = pad2.pad_w = 2, pad2.oh = pad2.ow = 6;
    mk::Conv2dShape dilated = conv3s1(2, 16, 9, 9, 16);
    dilated.dil_h = dilated.dil_w = 2, dilated.pad_h = dilated.pad_w = 2;
    const std::vector<mk::Conv2dShape> shapes = {
        conv3s1(3, 1, 28, 28, 32),   // the classifier's first conv: C_in = 1
        conv3s1(3, 16, 1, 1, 16),    // one output pixel: one tile
        dilated,
        conv4s2(3, 3, 16, 16, 32),   // C_in = 3 (D's first conv)
        conv4s2(3, 32, 16, 16, 3),   // C_out = 3 (G's last transposed conv)
        conv4s2(3, 16, 4, 4, 16),    // 2x2 outputs: one tile per image
        conv4s2(3, 16, 3, 5, 16),    // 1x2 outputs: one tile, half padded
        stride1, pad2,
    };
    for (const mk::Conv2dShape& s : shapes) {
        CAPTURE(s.c_in); CAPTURE(s.c_out); CAPTURE(s.oh); CAPTURE(s.ow); CAPTURE(s.stride_h); CAPTURE(s.pad_h);
        CHECK_FALSE(mk::cpu::conv2d_winograd_fits(s));
        const Operands o = random_operands(s, rng);
        const Faces wf = run_faces("winograd", s, o), pf = run_faces("polyphase", s, o);
        CHECK(wf.y == pf.y);
        CHECK(wf.gx == pf.gx);
        CHECK(wf.gw == pf.gw);
        const Reference r = reference_faces(s, o);
        CHECK(relative_error(wf.y, r.y) <= kTolerance);
    }
}

// Every image on its own in forward and backward_input: the same bits at any thread count;
// backward_weight adds per-thread partials, the same bits for a given thread count.
TEST_CASE("conv2d winograd: 1, 2 and 3 threads") {
    if (!have_winograd()) return;
    const int saved_threads = omp_get_max_threads();
    std::mt19937_64 rng(3);
    for (const mk::Conv2dShape& s : {conv4s2(7, 16, 12, 16, 24), conv4s2(5, 32, 8, 9, 16), conv4s2(5, 16, 7, 11, 16),
                                     conv3s1(5, 16, 9, 10, 24)}) {
        CAPTURE(s.n); CAPTURE(s.h); CAPTURE(s.w);
        const Operands o = random_operands(s, rng);
        const Reference r = reference_faces(s, o);
        Faces one_thread;
        for (int threads : {1, 2, 3}) {
            CAPTURE(threads);
            omp_set_num_threads(threads);
            const Faces f = run_faces("winograd", s, o), again = run_faces("winograd", s, o);
            if (threads == 1) one_thread = f;
            CHECK(f.y == one_thread.y);
            CHECK(f.gx == one_thread.gx);
            CHECK(f.gw == again.gw);
            CHECK(relative_error(f.y, r.y) <= kTolerance);
            CHECK(relative_error(f.gx, r.gx) <= kTolerance);
            CHECK(relative_error(f.gw, r.gw) <= kTolerance);
        }
    }
    omp_set_num_threads(saved_threads);
}

// The default float32 conv is winograd, and it takes dcgan's inner convs (64x64 RGB, batch 64;
// the transposed convs of G are these convs' backward_input) but not the 3-channel ends.
TEST_CASE("conv2d winograd: routing of the dcgan shapes") {
    if (!have_winograd()) return;
    const bool forward = mk::conv2d_forward_table().active_variant(Device::CPU, DType::Float32) ==
                         mk::conv2d_forward_table().get("winograd", Device::CPU, DType::Float32);
    const bool backward_input = mk::conv2d_backward_input_table().active_variant(Device::CPU, DType::Float32) ==
                                mk::conv2d_backward_input_table().get("winograd", Device::CPU, DType::Float32);
    const bool backward_weight = mk::conv2d_backward_weight_table().active_variant(Device::CPU, DType::Float32) ==
                                 mk::conv2d_backward_weight_table().get("winograd", Device::CPU, DType::Float32);
    CHECK(forward);
    CHECK(backward_input);
    CHECK(backward_weight);
    CHECK(mk::cpu::conv2d_winograd_fits(conv4s2(64, 64, 32, 32, 128)));   // D 64 -> 128
    CHECK(mk::cpu::conv2d_winograd_fits(conv4s2(64, 128, 16, 16, 256)));  // D 128 -> 256
    CHECK(mk::cpu::conv2d_winograd_fits(conv4s2(64, 256, 8, 8, 512)));    // G 512 -> 256, transposed
    CHECK(mk::cpu::conv2d_winograd_fits(conv4s2(64, 128, 8, 8, 256)));    // 32x32 RGB: 4x4 outputs
    // D's first conv 3 -> 64, and G's last transposed conv 64 -> 3 (its conv: C_in = 3, C_out = 64).
    CHECK_FALSE(mk::cpu::conv2d_winograd_fits(conv4s2(64, 3, 64, 64, 64)));
    // 28x28 (dcgan, cgan, wgan-gp): D 64 -> 128 to 7x7 outputs and G 128 -> 64 (its conv: 64 -> 128),
    // padded tiles (1.1x polyphase forward, 1.3x backward); the 1-channel ends stay polyphase.
    CHECK(mk::cpu::conv2d_winograd_fits(conv4s2(64, 64, 14, 14, 128)));
    CHECK_FALSE(mk::cpu::conv2d_winograd_fits(conv4s2(64, 1, 28, 28, 64)));
    // The classifier (batch 128): its 32 -> 64 conv at 14x14, not its 1 -> 32 conv at 28x28.
    CHECK(mk::cpu::conv2d_winograd_fits(conv3s1(128, 32, 14, 14, 64)));
    CHECK_FALSE(mk::cpu::conv2d_winograd_fits(conv3s1(128, 1, 28, 28, 32)));
}
