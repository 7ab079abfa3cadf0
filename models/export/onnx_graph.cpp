#ifdef MINIGEN_WITH_ONNX

#include "models/export/onnx_graph.h"

#include <algorithm>
#include <cstring>

#include "core/ops.h"

namespace mg::models::onnx_export {

std::string Graph::fresh(const std::string& hint) {
    std::string name = hint;
    for (int64_t i = 1; used_.count(name); ++i) name = hint + "_" + std::to_string(i);
    used_.insert(name);
    return name;
}

std::string Graph::initializer(const std::string& name, const Tensor& value) {
    MG_CHECK(value.dtype() == DType::Float32, "export: '{}' is {}; the ONNX export writes float32 networks", name,
             value.dtype());
    const Tensor t = value.detach().to(Device::CPU).contiguous();
    onnx::TensorProto* init = proto_.add_initializer();
    init->set_name(fresh(name));
    init->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : t.shape().vec()) init->add_dims(d);
    // raw_data is little-endian, as x86-64 and AArch64 store floats.
    init->set_raw_data(t.data<float>(), size_t(t.numel()) * sizeof(float));
    parameters_ += t.numel();
    return init->name();
}

std::string Graph::byte_initializer(const std::string& hint, const std::vector<int64_t>& dims, const void* data,
                                    bool is_signed) {
    onnx::TensorProto* init = proto_.add_initializer();
    init->set_name(fresh(hint));
    init->set_data_type(is_signed ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8);
    int64_t n = 1;
    for (int64_t d : dims) init->add_dims(d), n *= d;
    init->set_raw_data(data, size_t(n));
    parameters_ += n;
    return init->name();
}

onnx::TensorProto* Graph::vector_constant(const std::string& hint, int element_type, size_t size) {
    onnx::TensorProto* init = proto_.add_initializer();
    init->set_name(fresh(hint));
    init->set_data_type(element_type);
    init->add_dims(int64_t(size));
    return init;
}

std::string Graph::int64_constant(const std::string& hint, const std::vector<int64_t>& values) {
    onnx::TensorProto* init = vector_constant(hint, onnx::TensorProto::INT64, values.size());
    for (int64_t v : values) init->add_int64_data(v);
    return init->name();
}

std::string Graph::float_constant(const std::string& hint, const std::vector<float>& values) {
    onnx::TensorProto* init = vector_constant(hint, onnx::TensorProto::FLOAT, values.size());
    for (float v : values) init->add_float_data(v);
    return init->name();
}

std::string Graph::node(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint,
                        const std::vector<Attr>& attrs) {
    onnx::NodeProto* n = proto_.add_node();
    n->set_op_type(op);
    n->set_name(fresh(hint + "/" + op));
    for (const std::string& in : inputs) n->add_input(in);
    const std::string out = fresh(hint);
    n->add_output(out);
    for (const Attr& a : attrs) {
        onnx::AttributeProto* p = n->add_attribute();
        p->set_name(a.name);
        switch (a.kind) {
            case Attr::Kind::Int: p->set_type(onnx::AttributeProto::INT), p->set_i(a.i); break;
            case Attr::Kind::Float: p->set_type(onnx::AttributeProto::FLOAT), p->set_f(a.f); break;
            case Attr::Kind::Ints:
                p->set_type(onnx::AttributeProto::INTS);
                for (int64_t v : a.ints) p->add_ints(v);
                break;
        }
    }
    if (std::find(op_types_.begin(), op_types_.end(), op) == op_types_.end()) op_types_.push_back(op);
    return out;
}

}  // namespace mg::models::onnx_export

#endif  // MINIGEN_WITH_ONNX
