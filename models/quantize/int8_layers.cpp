#include "models/quantize/int8_layers.h"

#include "core/autograd.h"
#include "core/nn/conv.h"
#include "core/nn/linear.h"
#include "kernels/lowp.h"

namespace mg::models::quantize {

namespace {

void check_input(const char* op, const std::string& name, const Tensor& x) {
    MG_CHECK(x.device() == Device::CPU && x.dtype() == DType::Float32,
             "{} '{}' (int8): the input must be float32 on the CPU, got {} on {}", op, name, x.dtype(), x.device());
    MG_CHECK(!autograd::grad_enabled() || !x.requires_grad(),
             "{} '{}' (int8): a quantized layer has no gradient (inference only)", op, name);
}

// x [..., in] -> [..., out] = x W^T + b on gemm_int8.
class Int8Linear : public Int8Forward {
public:
    Int8Linear(const QuantizableLayer& layer, const LayerQuant& q)
        : Int8Forward(layer, q), in_(layer_weight(layer).size(1)), out_(layer_weight(layer).size(0)) {}

    std::optional<Tensor> before_forward(const Tensor& x) override {
        check_input("Linear", name_, x);
        MG_CHECK(x.dim() >= 1 && x.size(x.dim() - 1) == in_, "Linear '{}' (int8): input {} does not end in {} features",
                 name_, x.shape(), in_);
        const std::vector<uint8_t> a = quantize_input(x, input_);
        kernels::LowpGemmArgs g;
        g.m = x.numel() / in_, g.n = out_, g.k = in_;
        g.lda = in_, g.ldb = in_, g.ldc = out_, g.trans_b = true;
        g.a_zero_point = input_.zero_point, g.a_scale = input_.scale;
        g.col_scale = weight_scale_.data(), g.bias = bias_.empty() ? nullptr : bias_.data();
        Shape shape = x.shape();
        shape[shape.size() - 1] = out_;
        Tensor y = empty(shape);
        kernels::gemm_int8_table().get(Device::CPU, DType::UInt8)(g, a.data(), weight_.data(), y.data<float>());
        return y;
    }

private:
    int64_t in_, out_;
};

// Conv2d and ConvTranspose2d on the int8 convolution kernels (groups = 1).
class Int8Conv : public Int8Forward {
public:
    Int8Conv(const QuantizableLayer& layer, const LayerQuant& q)
        : Int8Forward(layer, q),
          conv_(*layer.module->as<nn::ConvBase>()),
          weight_shape_(layer_weight(layer).shape()) {}

    std::optional<Tensor> before_forward(const Tensor& x) override {
        const char* op = layer_op_name(op_);
        check_input(op, name_, x);
        const bool transposed = op_ == LayerOp::ConvTranspose2d;
        MG_CHECK(x.dim() == 4 && x.size(1) == (transposed ? weight_shape_[0] : weight_shape_[1]),
                 "{} '{}' (int8): input {} is not [N, {}, H, W]", op, name_, x.shape(),
                 transposed ? weight_shape_[0] : weight_shape_[1]);
        const kernels::Conv2dShape s = shape_for(x);
        const std::vector<uint8_t> a = quantize_input(x, input_);
        kernels::LowpConvQuant q;
        q.a_zero_point = input_.zero_point, q.a_scale = input_.scale;
        q.w_scale = weight_scale_.data(), q.bias = bias_.empty() ? nullptr : bias_.data();
        // conv_transpose2d at s maps [n, s.c_out, s.oh, s.ow] to [n, s.c_in, s.h, s.w] (kernels/lowp.h).
        Tensor y = transposed ? empty({s.n, s.c_in, s.h, s.w}) : empty({s.n, s.c_out, s.oh, s.ow});
        auto& table = transposed ? kernels::conv_transpose2d_int8_forward_table() : kernels::conv2d_int8_forward_table();
        table.get(Device::CPU, DType::UInt8)(s, q, a.data(), weight_.data(), y.data<float>());
        return y;
    }

private:
    // The conv2d shape the kernel takes: the layer's own for Conv2d; for ConvTranspose2d the
    // conv2d whose input gradient it is (its output is that conv2d's input).
    kernels::Conv2dShape shape_for(const Tensor& x) const {
        const Conv2dOptions& o = conv_.options;
        kernels::Conv2dShape s;
        s.kh = weight_shape_[2], s.kw = weight_shape_[3];
        s.stride_h = o.stride.h, s.stride_w = o.stride.w, s.pad_h = o.padding.h, s.pad_w = o.padding.w;
        s.dil_h = o.dilation.h, s.dil_w = o.dilation.w;
        s.n = x.size(0), s.c_out = weight_shape_[0], s.c_in = weight_shape_[1];
        const int64_t eff_h = s.dil_h * (s.kh - 1) + 1, eff_w = s.dil_w * (s.kw - 1) + 1;
        if (op_ == LayerOp::ConvTranspose2d) {
            s.oh = x.size(2), s.ow = x.size(3);
            s.h = (s.oh - 1) * s.stride_h - 2 * s.pad_h + eff_h + o.output_padding.h;
            s.w = (s.ow - 1) * s.stride_w - 2 * s.pad_w + eff_w + o.output_padding.w;
        } else {
            s.h = x.size(2), s.w = x.size(3);
            s.oh = (s.h + 2 * s.pad_h - eff_h) / s.stride_h + 1;
            s.ow = (s.w + 2 * s.pad_w - eff_w) / s.stride_w + 1;
        }
        return s;  // the kernel checks it (check_lowp_conv_args)
    }

    const nn::ConvBase& conv_;
    Shape weight_shape_;
};

}  // namespace

Int8Forward::Int8Forward(const QuantizableLayer& layer, const LayerQuant& q)
    : name_(layer.name),
      op_(layer.op),
      input_(q.input),
      weight_(quantize_weight(layer.op, layer_weight(layer), q.weight_scale)),
      weight_scale_(q.weight_scale) {
    const Tensor& b = layer_bias(layer);
    if (b.defined()) bias_ = b.contiguous().to_vector<float>();
}

std::vector<uint8_t> quantize_input(const Tensor& x, const ActivationQuant& q) {
    const Tensor xc = x.contiguous();
    std::vector<uint8_t> out(size_t(xc.numel()));
    kernels::QuantizeArgs args;
    args.inner = xc.numel(), args.scale = &q.scale, args.zero_point = &q.zero_point;
    kernels::quantize_table().get(Device::CPU, DType::Float32)(args, xc.data<float>(), out.data());
    return out;
}

std::shared_ptr<Int8Forward> make_int8_forward(const QuantizableLayer& layer, const LayerQuant& quant) {
    if (layer.op == LayerOp::Linear) return std::make_shared<Int8Linear>(layer, quant);
    return std::make_shared<Int8Conv>(layer, quant);
}

}  // namespace mg::models::quantize
