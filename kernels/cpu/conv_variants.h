// The CPU convolution variants that another file registers or falls back to (conv.cpp
// registers conv2d's; conv_implicit.cpp hands the shapes it does not serve to im2col,
// conv_polyphase.cpp to implicit, conv_winograd_avx512.cpp to polyphase). Each
// template is defined, and instantiated for the dtypes used elsewhere, in its own file.
#pragma once

#include "kernels/conv.h"
#include "kernels/masked_conv.h"

namespace mg::kernels::cpu {

// conv_reference.cpp (float, double)
template <class T> void conv2d_forward_reference(const Conv2dShape&, const void* x, const void* w, void* y);
template <class T> void conv2d_backward_input_reference(const Conv2dShape&, const void* gy, const void* w, void* gx);
template <class T> void conv2d_backward_weight_reference(const Conv2dShape&, const void* x, const void* gy, void* gw);

// conv_im2col.cpp (float, double)
template <class T> void conv2d_forward_im2col(const Conv2dShape&, const void* x, const void* w, void* y);
template <class T> void conv2d_backward_input_im2col(const Conv2dShape&, const void* gy, const void* w, void* gx);
template <class T> void conv2d_backward_weight_im2col(const Conv2dShape&, const void* x, const void* gy, void* gw);

// conv_implicit.cpp (float32, AVX-512 only)
void conv2d_forward_implicit_f32(const Conv2dShape&, const void* x, const void* w, void* y);
void conv2d_backward_input_implicit_f32(const Conv2dShape&, const void* gy, const void* w, void* gx);
void conv2d_backward_weight_implicit_f32(const Conv2dShape&, const void* x, const void* gy, void* gw);

// conv_polyphase.cpp (float32, AVX-512 only; conv_winograd_avx512.cpp falls back to it)
void conv2d_forward_polyphase_f32(const Conv2dShape&, const void* x, const void* w, void* y);
void conv2d_backward_input_polyphase_f32(const Conv2dShape&, const void* gy, const void* w, void* gx);
void conv2d_backward_weight_polyphase_f32(const Conv2dShape&, const void* x, const void* gy, void* gw);

// conv_winograd_avx512.cpp (float32, AVX-512 only; registered by conv_winograd.cpp). Its
// faces compute the shapes conv2d_winograd_fits accepts (the 4x4 stride-2 convs, and the 3x3
// stride-1 ones of conv2d_winograd3x3_fits) and hand the others to polyphase.
bool conv2d_winograd_fits(const Conv2dShape&);
void conv2d_forward_winograd_f32(const Conv2dShape&, const void* x, const void* w, void* y);
void conv2d_backward_input_winograd_f32(const Conv2dShape&, const void* gy, const void* w, void* gx);
void conv2d_backward_weight_winograd_f32(const Conv2dShape&, const void* x, const void* gy, void* gw);

// conv_winograd3x3_avx512.cpp: F(2x2, 3x3) for 3x3 stride-1 pad-1 convs (only for shapes
// conv2d_winograd3x3_fits accepts; the winograd faces above route to them).
bool conv2d_winograd3x3_fits(const Conv2dShape&);
void conv2d_forward_winograd3x3_f32(const Conv2dShape&, const void* x, const void* w, void* y);
void conv2d_backward_input_winograd3x3_f32(const Conv2dShape&, const void* gy, const void* w, void* gx);
void conv2d_backward_weight_winograd3x3_f32(const Conv2dShape&, const void* x, const void* gy, void* gw);

// conv_masked.cpp (float)
void check_masked_conv2d_shape(const char* op, const MaskedConv2dShape& s);
template <class T> void masked_conv2d_forward_im2col(const MaskedConv2dShape&, const void* x, const void* w, void* y);
template <class T>
void masked_conv2d_backward_input_im2col(const MaskedConv2dShape&, const void* gy, const void* w, void* gx);
template <class T>
void masked_conv2d_backward_weight_im2col(const MaskedConv2dShape&, const void* x, const void* gy, void* gw);

}  // namespace mg::kernels::cpu
