#include "models/export/onnx_export.h"

#ifdef MINIGEN_WITH_ONNX
#include "core/io/temp_files.h"
#include "core/runtime.h"
#include "models/export/onnx_graph.h"
#include "models/export/onnx_modules.h"
#endif

namespace mg::models {

void check_onnx_export_available() {
    MG_CHECK(onnx_export_available(), "export --format onnx: this minigen was built without ONNX; install libonnx-dev "
                                      "and libprotobuf-dev and rebuild (cmake -DMINIGEN_ONNX=ON)");
}

#ifndef MINIGEN_WITH_ONNX

bool onnx_export_available() { return false; }

OnnxExportSummary export_onnx(const SamplingNetwork&, const std::string&) {
    check_onnx_export_available();
    return {};
}

#else

namespace {

using onnx_export::Attr;
using onnx_export::Graph;

// A graph input or output: its element type and shape, the batch dimension named "N".
void declare(onnx::ValueInfoProto* v, const std::string& name, int element_type, const std::vector<int64_t>& dims) {
    v->set_name(name);
    onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(element_type);
    t->mutable_shape()->add_dim()->set_dim_param("N");
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

// Puts the network back in the mode it had, however the export ends.
struct EvalModeGuard {
    nn::Module& module;
    bool was_training;
    explicit EvalModeGuard(nn::Module& m) : module(m), was_training(m.is_training()) { m.eval(); }
    ~EvalModeGuard() { module.train(was_training); }
};

}  // namespace

bool onnx_export_available() { return true; }

OnnxExportSummary export_onnx(const SamplingNetwork& net, const std::string& path) {
    MG_CHECK(net.network != nullptr, "export: model '{}' has no network to export", net.model);
    EvalModeGuard eval(*net.network);

    onnx::ModelProto model;
    model.set_ir_version(onnx::IR_VERSION);
    model.set_producer_name("minigen");
    model.set_producer_version(build_info().version);
    model.set_doc_string(net.model + ": the sampling network (minigen export --format onnx)");
    onnx::OperatorSetIdProto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(kOnnxOpset);
    onnx::GraphProto& proto = *model.mutable_graph();
    proto.set_name(net.model);
    Graph g(proto);

    // z [N, z_dim] (+ one_hot(labels) [N, classes]) -> the network -> (sigmoid) -> image,
    // or x [N, C, S, S] -> the network -> logits.
    const bool image_input = !net.input_image.empty();
    std::string x = g.fresh(image_input ? "x" : "z");
    declare(proto.add_input(), x, onnx::TensorProto::FLOAT,
            image_input ? net.input_image.vec() : std::vector{net.z_dim});
    if (net.classes > 0 && !image_input) {
        const std::string labels = g.fresh("labels");
        declare(proto.add_input(), labels, onnx::TensorProto::INT64, {});
        const std::string one_hot =
            g.node("OneHot", {labels, g.int64_constant("classes", {net.classes}), g.float_constant("off_on", {0, 1})},
                   "labels_one_hot", {Attr::integer("axis", -1)});
        x = g.node("Concat", {x, one_hot}, "z_and_labels", {Attr::integer("axis", 1)});
    }
    std::string out = onnx_export::emit_module(g, *net.network, "", x, net.model);
    if (net.sigmoid) out = g.node("Sigmoid", {out}, "probabilities");
    out = g.node("Identity", {out}, image_input ? "logits" : "image");
    declare(proto.add_output(), out, onnx::TensorProto::FLOAT, net.output.vec());

    std::string bytes;
    MG_CHECK(model.SerializeToString(&bytes), "export: model '{}': the ONNX file could not be encoded", net.model);
    io::write_file_atomically(path, bytes);

    OnnxExportSummary s;
    s.nodes = proto.node_size();
    s.initializers = proto.initializer_size();
    s.parameters = g.parameters();
    s.op_types = g.op_types();
    s.bytes = int64_t(bytes.size());
    return s;
}

#endif  // MINIGEN_WITH_ONNX

}  // namespace mg::models
