#include "models/eval/reference_classifier.h"

#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <vector>

#include "core/autograd.h"
#include "core/io/safetensors.h"
#include "core/io/sha256.h"
#include "core/ops.h"

// The built-in weights, assembled into read-only data by the assembler (.incbin) so that
// a 1.6 MB file costs nothing to compile. CMake defines MINIGEN_REFERENCE_CLASSIFIER_FILE
// when models/classifier/reference.safetensors exists.
#ifdef MINIGEN_REFERENCE_CLASSIFIER_FILE
__asm__(".pushsection .rodata\n"
        ".balign 64\n"
        ".global mg_reference_classifier_begin\n"
        "mg_reference_classifier_begin:\n"
        ".incbin \"" MINIGEN_REFERENCE_CLASSIFIER_FILE "\"\n"
        ".global mg_reference_classifier_end\n"
        "mg_reference_classifier_end:\n"
        ".popsection\n");
extern "C" const unsigned char mg_reference_classifier_begin[];
extern "C" const unsigned char mg_reference_classifier_end[];
#endif

namespace mg::eval {

bool has_builtin_reference_classifier() {
#ifdef MINIGEN_REFERENCE_CLASSIFIER_FILE
    return true;
#else
    return false;
#endif
}

ReferenceClassifier::ReferenceClassifier(const void* bytes, size_t size, std::string source)
    : source_(std::move(source)) {
    sha256_ = io::sha256_hex(bytes, size);
    io::SafetensorsContents file = io::load_safetensors(bytes, size, source_);
    net_ = std::make_shared<models::ClassifierNet>();
    nn::StateDict sd;
    for (const auto& [name, t] : file.tensors) sd.insert(name, t);
    net_->load_state_dict(sd);  // strict: every tensor present, shapes equal
    net_->eval();
    if (auto a = file.metadata.find("test_accuracy"); a != file.metadata.end()) test_accuracy_ = std::stod(a->second);
}

ReferenceClassifier& ReferenceClassifier::get(const std::optional<std::string>& path) {
    static std::mutex mutex;
    static std::map<std::string, std::unique_ptr<ReferenceClassifier>> loaded;
    std::lock_guard<std::mutex> lock(mutex);
    std::string key = path.value_or("");
    if (auto it = loaded.find(key); it != loaded.end()) return *it->second;
    std::unique_ptr<ReferenceClassifier> c;
    if (path) {
        std::ifstream in(*path, std::ios::binary);
        MG_CHECK(in.good(), "--classifier {}: cannot open the file", *path);
        std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        c.reset(new ReferenceClassifier(bytes.data(), bytes.size(), *path));
    } else {
#ifdef MINIGEN_REFERENCE_CLASSIFIER_FILE
        c.reset(new ReferenceClassifier(mg_reference_classifier_begin,
                                        size_t(mg_reference_classifier_end - mg_reference_classifier_begin),
                                        "built-in"));
#else
        MG_FAIL("this build has no built-in reference classifier (models/classifier/reference.safetensors was "
                "missing when it was built); train one with `minigen train classifier` and pass --classifier FILE");
#endif
    }
    return *loaded.emplace(key, std::move(c)).first->second;
}

void ReferenceClassifier::features_and_probs(const Tensor& images, Tensor* features, Tensor* probs) {
    MG_CHECK(images.dim() == 4 && images.size(1) == 1 && images.size(2) == 28 && images.size(3) == 28,
             "reference classifier: expects images [N, 1, 28, 28] in [0, 1], got {}", images.shape());
    autograd::NoGradGuard no_grad;
    const int64_t n = images.size(0), chunk = 500;
    std::vector<Tensor> f, p;
    for (int64_t i = 0; i < n; i += chunk) {
        Tensor x = images.slice(0, i, std::min(n, i + chunk)).to(DType::Float32).contiguous();
        Tensor h = net_->features(x);
        if (features) f.push_back(h);
        if (probs) p.push_back(softmax(net_->head->forward(h), 1));
    }
    if (features) *features = f.empty() ? zeros({0, 128}) : cat(f, 0);
    if (probs) *probs = p.empty() ? zeros({0, 10}) : cat(p, 0);
}

Tensor ReferenceClassifier::features(const Tensor& images) {
    Tensor f;
    features_and_probs(images, &f, nullptr);
    return f;
}

Tensor ReferenceClassifier::probs(const Tensor& images) {
    Tensor p;
    features_and_probs(images, nullptr, &p);
    return p;
}

void write_reference_classifier(models::ClassifierNet& net, const std::string& path, double test_accuracy,
                                const std::string& provenance) {
    io::TensorList tensors;
    for (const auto& [name, t] : net.state_dict()) tensors.emplace_back(name, t.contiguous());
    io::save_safetensors(path, tensors,
                         {{"model", "classifier"},
                          {"test_accuracy", std::to_string(test_accuracy)},
                          {"provenance", provenance}});
}

}  // namespace mg::eval
