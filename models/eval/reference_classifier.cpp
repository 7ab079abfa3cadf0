#include "models/eval/reference_classifier.h"

#include <charconv>
#include <cmath>
#include <mutex>
#include <vector>

#include "core/autograd.h"
#include "core/data/fashion_mnist.h"
#include "core/data/resize.h"
#include "core/io/input.h"
#include "core/io/safetensors.h"
#include "core/io/sha256.h"
#include "core/ops.h"
#include "models/image_data.h"

// The built-in weights, assembled into read-only data by the assembler (.incbin) so that
// a 1.6 MB file costs nothing to compile. CMake defines MINIGEN_REFERENCE_CLASSIFIER_FILE
// (models/classifier/reference.safetensors) and MINIGEN_EMOJI_CLASSIFIER_FILE
// (models/classifier/emoji.safetensors) for the files that exist.
#define MG_EMBED_FILE(symbol, file)                                                                      \
    __asm__(".pushsection .rodata\n.balign 64\n.global " #symbol "_begin\n" #symbol "_begin:\n.incbin \"" \
            file "\"\n.global " #symbol "_end\n" #symbol "_end:\n.popsection\n");                       \
    extern "C" const unsigned char symbol##_begin[];                                                     \
    extern "C" const unsigned char symbol##_end[];
#ifdef MINIGEN_REFERENCE_CLASSIFIER_FILE
MG_EMBED_FILE(mg_reference_classifier, MINIGEN_REFERENCE_CLASSIFIER_FILE)
#endif
#ifdef MINIGEN_EMOJI_CLASSIFIER_FILE
MG_EMBED_FILE(mg_emoji_classifier, MINIGEN_EMOJI_CLASSIFIER_FILE)
#endif

namespace mg::eval {

namespace {

struct Builtin {
    const char* name;
    const unsigned char *begin, *end;
};

std::vector<Builtin> builtins() {
    std::vector<Builtin> b;
#ifdef MINIGEN_REFERENCE_CLASSIFIER_FILE
    b.push_back({"fashion-mnist", mg_reference_classifier_begin, mg_reference_classifier_end});
#endif
#ifdef MINIGEN_EMOJI_CLASSIFIER_FILE
    b.push_back({"emoji", mg_emoji_classifier_begin, mg_emoji_classifier_end});
#endif
    return b;
}

// A weights file is read whole; the largest network the metadata can describe is far below this.
constexpr uint64_t kMaxWeightsBytes = uint64_t(1) << 30;

int64_t metadata_int(const std::string& text, const std::string& key, int64_t lo, int64_t hi, const std::string& what) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    MG_CHECK(ec == std::errc() && end == text.data() + text.size() && v >= lo && v <= hi,
             "{}: metadata '{}' must be an integer in {}..{}, got '{}'", what, key, lo, hi, io::quote_short(text));
    return v;
}

double metadata_fraction(const std::string& text, const std::string& key, const std::string& what) {
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    MG_CHECK(ec == std::errc() && end == text.data() + text.size() && std::isfinite(v) && v >= 0 && v <= 1,
             "{}: metadata '{}' must be a number in [0, 1], got '{}'", what, key, io::quote_short(text));
    return v;
}

std::string shape_text(const models::ClassifierShape& s) {
    return fmt::format("{}x{}x{} classifier of {} classes", s.channels, s.height, s.width, s.classes);
}

// images [N,C,H,W] float in [0,1] -> [N,C,h,w], each through 8 bits and the area filter.
Tensor resize_images(const Tensor& images, int64_t h, int64_t w) {
    const int64_t n = images.size(0), c = images.size(1), ih = images.size(2), iw = images.size(3);
    Tensor src = images.to(DType::Float32).contiguous();
    Tensor out = empty({n, c, h, w});
    const float* in = src.data<float>();
    float* dst = out.data<float>();
    io::ImageU8 image{ih, iw, c, std::vector<uint8_t>(size_t(ih * iw * c))};
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t p = 0; p < ih * iw; ++p) {
                const float v = std::clamp(in[(i * c + ch) * ih * iw + p], 0.0f, 1.0f);
                image.pixels[size_t(p * c + ch)] = uint8_t(std::lround(v * 255.0f));
            }
        io::ImageU8 r = data::resize(image, h, w, data::ResizeFilter::box);
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t p = 0; p < h * w; ++p) dst[(i * c + ch) * h * w + p] = r.pixels[size_t(p * c + ch)] / 255.0f;
    }
    return out;
}

}  // namespace

std::vector<std::string> builtin_reference_classifiers() {
    std::vector<std::string> names;
    for (const Builtin& b : builtins()) names.emplace_back(b.name);
    return names;
}

bool has_builtin_reference_classifier(const std::string& name) {
    for (const Builtin& b : builtins())
        if (name == b.name) return true;
    return false;
}

ReferenceInfo read_reference_info(const std::map<std::string, std::string>& metadata, const std::string& what) {
    auto find = [&](const char* key) -> const std::string* {
        auto it = metadata.find(key);
        return it == metadata.end() ? nullptr : &it->second;
    };
    const std::string* model = find("model");
    MG_CHECK(model && *model == "classifier",
             "{}: not a minigen reference classifier (metadata 'model' is {}, expected \"classifier\"; freeze a "
             "trained classifier with minigen eval classifier --checkpoint F --save-reference FILE)",
             what, model ? fmt::format("'{}'", io::quote_short(*model)) : std::string("missing"));
    ReferenceInfo info;
    const std::string* accuracy = find("test_accuracy");
    MG_CHECK(accuracy, "{}: metadata 'test_accuracy' is missing", what);
    info.test_accuracy = metadata_fraction(*accuracy, "test_accuracy", what);
    if (const std::string* p = find("provenance")) info.provenance = p->substr(0, 1000);

    static const char* const kShapeKeys[] = {"channels", "height", "width", "classes", "class_names", "data"};
    int present = 0;
    for (const char* key : kShapeKeys) present += find(key) != nullptr;
    if (present == 0) {  // the Fashion-MNIST file, written before the shape was recorded
        for (std::string_view name : data::fashion_mnist_classes()) info.class_names.emplace_back(name);
        return info;
    }
    for (const char* key : kShapeKeys)
        MG_CHECK(find(key), "{}: metadata '{}' is missing (a reference classifier records channels, height, width, "
                 "classes, class_names and data)", what, key);
    info.shape.channels = metadata_int(*find("channels"), "channels", 1, 3, what);
    MG_CHECK(info.shape.channels != 2, "{}: metadata 'channels' must be 1 or 3, got 2", what);
    info.shape.height = metadata_int(*find("height"), "height", 1, 1024, what);
    info.shape.width = metadata_int(*find("width"), "width", 1, 1024, what);
    info.shape.classes = metadata_int(*find("classes"), "classes", 2, 65536, what);
    const std::string names_what = what + ": metadata 'class_names'";
    nlohmann::json names = io::parse_json(*find("class_names"), names_what, {.max_depth = 2, .max_bytes = 4 << 20});
    MG_CHECK(names.is_array() && int64_t(names.size()) == info.shape.classes,
             "{}: expected a JSON array of {} names, got {}", names_what, info.shape.classes,
             io::quote_short(names.dump()));
    for (const nlohmann::json& n : names) {
        MG_CHECK(n.is_string() && n.get<std::string>().size() <= 256, "{}: each name must be a string of at most 256 "
                 "bytes, got {}", names_what, io::quote_short(n.dump()));
        info.class_names.push_back(n.get<std::string>());
    }
    info.data = *find("data");
    MG_CHECK(info.data.size() <= 4096 && (info.data == "fashion-mnist" || models::is_image_data_spec(info.data)),
             "{}: metadata 'data' is not a data set (fashion-mnist, folder:DIR, npy:FILE, emoji[:VENDORS]): '{}'", what,
             io::quote_short(info.data));
    return info;
}

std::unique_ptr<ReferenceClassifier> ReferenceClassifier::from_bytes(const void* bytes, size_t size,
                                                                     const std::string& source,
                                                                     const std::string& name) {
    std::unique_ptr<ReferenceClassifier> c(new ReferenceClassifier());
    c->source_ = source;
    c->name_ = name;
    c->sha256_ = io::sha256_hex(bytes, size);
    io::SafetensorsContents file = io::load_safetensors(bytes, size, source);
    c->info_ = read_reference_info(file.metadata, source);
    c->net_ = std::make_shared<models::ClassifierNet>(c->info_.shape);
    // The tensors must be exactly the network the metadata describes, finite float32.
    nn::StateDict sd;
    for (const auto& [key, want] : c->net_->state_dict()) {
        auto it = file.tensors.find(key);
        MG_CHECK(it != file.tensors.end(), "{}: tensor '{}' is missing (a {} has {} tensors)", source, key,
                 shape_text(c->info_.shape), c->net_->state_dict().size());
        const Tensor& t = it->second;
        MG_CHECK(t.shape() == want.shape(), "{}: tensor '{}' is {}, but a {} needs {} (the metadata and the weights "
                 "disagree)", source, key, t.shape(), shape_text(c->info_.shape), want.shape());
        MG_CHECK(t.dtype() == DType::Float32, "{}: tensor '{}' must be float32 (F32), got {}", source, key,
                 dtype_name(t.dtype()));
        MG_CHECK(std::isfinite(sum(t.to(DType::Float64)).item()), "{}: tensor '{}' holds NaN or infinite values",
                 source, key);
        sd.insert(key, t);
    }
    MG_CHECK(file.tensors.size() == sd.size(), "{}: {} tensors, but a {} has {}", source, file.tensors.size(),
             shape_text(c->info_.shape), sd.size());
    c->net_->load_state_dict(sd);
    c->net_->eval();
    return c;
}

ReferenceClassifier& ReferenceClassifier::get(const std::optional<std::string>& which) {
    static std::mutex mutex;
    static std::map<std::string, std::unique_ptr<ReferenceClassifier>> loaded;
    std::lock_guard<std::mutex> lock(mutex);
    const std::string key = which.value_or("fashion-mnist");
    if (auto it = loaded.find(key); it != loaded.end()) return *it->second;
    std::unique_ptr<ReferenceClassifier> c;
    for (const Builtin& b : builtins())
        if (key == b.name) c = from_bytes(b.begin, size_t(b.end - b.begin), "built-in", b.name);
    if (!c && !which) {
        MG_FAIL("this build has no built-in Fashion-MNIST classifier (models/classifier/reference.safetensors was "
                "missing when it was built); train one with `minigen train classifier` and pass --classifier FILE");
    }
    if (!c) {
        const std::string what = "--classifier " + key;
        MG_CHECK(key != "emoji" && key != "fashion-mnist",
                 "{}: this build has no built-in '{}' classifier (its weights file was missing when it was built)",
                 what, key);
        const std::string bytes = io::read_text_file(key, "--classifier", kMaxWeightsBytes);
        c = from_bytes(bytes.data(), bytes.size(), key, key);
    }
    return *loaded.emplace(key, std::move(c)).first->second;
}

ReferenceClassifier& ReferenceClassifier::select(const std::optional<std::string>& which, const std::string& data) {
    if (which) return get(which);
    for (const std::string& name : builtin_reference_classifiers()) {
        ReferenceClassifier& c = get(name);
        if (c.info().data == data) return c;
    }
    if (data == "fashion-mnist") return get();  // the error saying it is not built in
    MG_FAIL("eval: no classifier of {} to score it with: train one (minigen train classifier --data {} "
            "--image-size 32), freeze it (minigen eval classifier --checkpoint RUN/checkpoint.safetensors "
            "--save-reference FILE) and pass --classifier FILE (built in: {})",
            io::quote_short(data), data, fmt::join(builtin_reference_classifiers(), ", "));
}

void ReferenceClassifier::features_and_probs(const Tensor& images, Tensor* features, Tensor* probs) {
    const models::ClassifierShape& s = info_.shape;
    MG_CHECK(images.dim() == 4 && images.size(1) == s.channels && images.size(2) > 0 && images.size(3) > 0,
             "reference classifier {}: expects images [N, {}, H, W] in [0, 1] ({}), got {}", name_, s.channels,
             shape_text(s), images.shape());
    autograd::NoGradGuard no_grad;
    const int64_t n = images.size(0), chunk = 500;
    std::vector<Tensor> f, p;
    for (int64_t i = 0; i < n; i += chunk) {
        Tensor x = images.slice(0, i, std::min(n, i + chunk)).to(DType::Float32).contiguous();
        if (resizes(x.size(2), x.size(3))) x = resize_images(x, s.height, s.width);
        // One image alone would make the linear layers matrix-vector products, which the
        // GEMM sums in another order: it runs beside a copy of itself, so that its features
        // are bit for bit those it has in any batch.
        const bool alone = x.size(0) == 1;
        if (alone) x = cat({x, x}, 0);
        Tensor h = net_->features(x);
        Tensor q = probs ? softmax(net_->head->forward(h), 1) : Tensor();
        if (alone) {
            h = h.slice(0, 0, 1);
            if (probs) q = q.slice(0, 0, 1);
        }
        if (features) f.push_back(h);
        if (probs) p.push_back(q);
    }
    if (features) *features = f.empty() ? zeros({0, models::ClassifierNet::kFeatures}) : cat(f, 0);
    if (probs) *probs = p.empty() ? zeros({0, s.classes}) : cat(p, 0);
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

void write_reference_classifier(models::ClassifierNet& net, const std::string& path, ReferenceInfo info) {
    const models::ClassifierShape& s = net.shape();
    MG_CHECK(int64_t(info.class_names.size()) == s.classes, "--save-reference {}: {} class names for {} classes", path,
             info.class_names.size(), s.classes);
    io::TensorList tensors;
    for (const auto& [name, t] : net.state_dict()) tensors.emplace_back(name, t.contiguous());
    io::save_safetensors(path, tensors,
                         {{"model", "classifier"},
                          {"channels", std::to_string(s.channels)},
                          {"height", std::to_string(s.height)},
                          {"width", std::to_string(s.width)},
                          {"classes", std::to_string(s.classes)},
                          {"class_names", nlohmann::json(info.class_names).dump()},
                          {"data", info.data},
                          {"test_accuracy", fmt::format("{:.6f}", info.test_accuracy)},
                          {"provenance", info.provenance}});
}

}  // namespace mg::eval
