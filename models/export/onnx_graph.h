// A thin builder over the ONNX library's GraphProto, for the module table (onnx_modules.cpp)
// and the model wrapper (onnx_export.cpp). Only built with MINIGEN_ONNX: it includes ONNX's
// generated protobuf header.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "core/tensor.h"

namespace mg::models::onnx_export {

// One attribute of a node: an int, a float or a list of ints.
struct Attr {
    std::string name;
    enum class Kind { Int, Float, Ints } kind;
    int64_t i = 0;
    float f = 0;
    std::vector<int64_t> ints;
    static Attr integer(std::string n, int64_t v) { return {std::move(n), Kind::Int, v, 0, {}}; }
    static Attr real(std::string n, double v) { return {std::move(n), Kind::Float, 0, float(v), {}}; }
    static Attr list(std::string n, std::vector<int64_t> v) { return {std::move(n), Kind::Ints, 0, 0, std::move(v)}; }
};

class Graph {
public:
    explicit Graph(onnx::GraphProto& proto) : proto_(proto) {}

    // A float32 tensor (any device, any layout) as an initializer named `name`; returns the name.
    std::string initializer(const std::string& name, const Tensor& value);
    // An int8 (is_signed) or uint8 tensor of shape `dims` (QDQ's quantized weights and zero
    // points; dims {} a scalar) under a fresh name built from `hint`.
    std::string byte_initializer(const std::string& hint, const std::vector<int64_t>& dims, const void* data,
                                 bool is_signed);
    // A constant int64 vector (shapes, depths) under a fresh name built from `hint`.
    std::string int64_constant(const std::string& hint, const std::vector<int64_t>& values);
    // A constant float vector.
    std::string float_constant(const std::string& hint, const std::vector<float>& values);
    // Appends a node op(inputs) -> one output named from `hint`; returns the output's name.
    std::string node(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint,
                     const std::vector<Attr>& attrs = {});

    // A name not used yet, from `hint` ("net.1" -> "net.1", then "net.1_1", ...).
    std::string fresh(const std::string& hint);
    const std::vector<std::string>& op_types() const { return op_types_; }
    int64_t parameters() const { return parameters_; }

private:
    onnx::TensorProto* vector_constant(const std::string& hint, int element_type, size_t size);  // dims [size]

    onnx::GraphProto& proto_;
    std::set<std::string> used_;
    std::vector<std::string> op_types_;
    int64_t parameters_ = 0;
};

// "prefix.name" ("name" at the root).
inline std::string dotted(const std::string& prefix, const std::string& name) {
    return prefix.empty() ? name : prefix + "." + name;
}

}  // namespace mg::models::onnx_export
