// The VAE family against references:
//   - one training step of vae and cvae (beta 0.5) replayed from PyTorch fixtures
//     (tests/reference/make_vae_fixture.py): the loss and its parts, every gradient, every
//     weight after the Adam step, in float32 and float64;
//   - the likelihood bounds on a model small enough to integrate: a 1-D latent and 4 pixels,
//     log p(x) by quadrature over z; ELBO <= log p(x), IWAE_K rising towards it with K, and
//     the IWAE estimate for fixed samples against the formula written out in double;
//   - the Model abilities: likelihood()'s bookkeeping, cvae following its labels, every
//     model's step learning a fixed batch, complete() keeping the known rows, interpolate(),
//     the 2-D latent pictures, the options;
//   - image data sets at any C x S x S (32x32 RGB, 16x16 grey npy files): the networks'
//     shapes, a step, samples, completions and per-dimension likelihoods, a checkpoint round
//     trip, and a data set or size that does not fit the checkpoint.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "core/autograd.h"
#include "core/data/transforms.h"
#include "core/io/image.h"
#include "core/io/npy.h"
#include "core/nn/nn.h"
#include "fixture_reader.h"
#include "helpers.h"
#include "models/image_data.h"
#include "models/registry.h"
#include "models/trainer.h"
#include "models/vae/objective.h"
#include "models/vae/vae_model.h"
#include "tools/model_options.h"

using namespace mg;

namespace {

using test::max_abs;
using test::metric;
using test::starts_with;

models::VaeModel& as_vae(models::Model& m) {
    auto* v = dynamic_cast<models::VaeModel*>(&m);
    REQUIRE(v != nullptr);
    return *v;
}

// A VAE from the registry, as its own type: every ability of the family at hand.
std::unique_ptr<models::VaeModel> make_model(const std::string& name, const nlohmann::json& options,
                                             uint64_t seed = 1) {
    models::ModelConfig c;
    c.options = options;
    c.seed = seed;
    std::unique_ptr<models::Model> model = models::find_model(name).create(c);
    REQUIRE(dynamic_cast<models::VaeModel*>(model.get()) != nullptr);
    return std::unique_ptr<models::VaeModel>(static_cast<models::VaeModel*>(model.release()));
}

// ---- replaying PyTorch's step ------------------------------------------------------------------
nn::StateDict entries(const test::Fixture& f, const std::string& prefix) {
    nn::StateDict sd;
    for (const auto& [key, t] : f.tensors)
        if (starts_with(key, prefix)) sd.insert(key.substr(prefix.size()), t);
    return sd;
}

// Loads the fixture's initial state into the model it names, casts it to `dtype`, runs
// VaeModel::step with the fixture's batch and eps, and compares metrics, gradients and the
// state after the step, each relative to the largest reference value of its tensor.
void check_replay(const std::string& name, DType dtype, double tolerance) {
    INFO("fixture vae_" << name << " in " << dtype);
    test::Fixture f = test::read_fixture(std::string(MINIGEN_SOURCE_DIR) + "/tests/reference/fixtures/vae_" + name +
                                         ".safetensors");
    auto model = make_model(f.meta("model"), nlohmann::json::parse(f.meta("options")));
    models::VaeModel& vae = as_vae(*model);
    for (auto& [net, module] : model->modules()) {
        module->load_state_dict(entries(f, "init." + net + "."));  // strict: PyTorch's names
        module->to(dtype);
    }
    data::Batch batch;
    batch.images = f.at("input.x").to(dtype);
    if (f.has("input.labels")) batch.labels = f.at("input.labels");
    models::Metrics m = vae.step(batch, f.at("noise.eps").to(dtype));

    std::set<std::string> checked;
    for (const auto& [key, want] : f.tensors) {
        if (!starts_with(key, "metric.")) continue;
        INFO(key);
        double got = metric(m, key.substr(7)), w = want.item();
        CHECK(std::abs(got - w) <= tolerance * std::abs(w));
        checked.insert(key);
    }
    for (auto& [net, module] : model->modules()) {
        for (const auto& [pname, p] : module->named_parameters()) {
            const std::string key = "grad." + net + "." + pname;
            INFO(key);
            REQUIRE(p.grad().defined());
            std::vector<double> got = p.grad().to_vector<double>(), want = f.at(key).to_vector<double>();
            REQUIRE(got.size() == want.size());
            double scale = max_abs(want), worst = 0;
            REQUIRE(scale > 0);
            for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]) / scale);
            INFO("relative error " << worst);
            CHECK(worst < tolerance);
            checked.insert(key);
        }
        for (const auto& [sname, t] : module->state_dict()) {
            const std::string key = "after." + net + "." + sname;
            INFO(key);
            std::vector<double> got = t.to_vector<double>(), want = f.at(key).to_vector<double>();
            std::vector<double> init = f.at("init." + net + "." + sname).to_vector<double>();
            REQUIRE(got.size() == want.size());
            // The step moves each weight by up to lr: compare the moves, relative to lr.
            const double lr = std::stod(f.meta("lr"));
            double worst = 0;
            for (size_t i = 0; i < got.size(); ++i)
                worst = std::max(worst, std::abs((got[i] - init[i]) - (want[i] - init[i])) / lr);
            INFO("error of the move relative to lr " << worst);
            CHECK(worst < (dtype == DType::Float32 ? 1e-3 : 1e-9));
            checked.insert(key);
        }
    }
    for (const auto& [key, t] : f.tensors)
        if (starts_with(key, "metric.") || starts_with(key, "grad.") || starts_with(key, "after."))
            CHECK_MESSAGE(checked.count(key), "unchecked fixture entry " << key);
}

// ---- a model small enough to integrate ---------------------------------------------------------
// 4 pixels, a 1-D latent; weights drawn wide so that p(x|z) depends strongly on z and
// q(z|x) is far from the posterior (a clear ELBO gap).
struct TinyVae {
    std::shared_ptr<models::MlpEncoder> enc = std::make_shared<models::MlpEncoder>(4, 8, 1);
    std::shared_ptr<models::MlpDecoder> dec = std::make_shared<models::MlpDecoder>(1, 8, Shape{1, 1, 4});
    TinyVae() {
        enc->to(DType::Float64);
        dec->to(DType::Float64);
        for (auto* m : std::initializer_list<nn::Module*>{enc.get(), dec.get()})
            for (Tensor& p : m->parameters()) nn::init::normal_(p, 0.0, 1.0);
    }
    // A binary image [1, 1, 1, 4] from the bits of `code`.
    static Tensor image(int code) {
        std::vector<double> v(4);
        for (int j = 0; j < 4; ++j) v[size_t(j)] = (code >> j) & 1;
        return from_vector(v, Shape{1, 1, 1, 4});
    }
};

double log_sum_exp(const std::vector<double>& v) {
    double m = *std::max_element(v.begin(), v.end()), s = 0;
    for (double x : v) s += std::exp(x - m);
    return m + std::log(s);
}
double softplus(double l) { return l > 0 ? l + std::log1p(std::exp(-l)) : std::log1p(std::exp(l)); }
double log_normal(double z, double mean, double logvar) {
    return -0.5 * (std::log(2 * M_PI) + logvar + (z - mean) * (z - mean) / std::exp(logvar));
}

// log p(x) = log int p(x|z) N(z; 0, 1) dz for all 16 images, by the midpoint rule on [-12, 12].
std::vector<double> log_marginals(TinyVae& m) {
    const int64_t n = 24000;
    const double h = 24.0 / double(n);
    std::vector<double> z(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) z[size_t(i)] = -12.0 + (double(i) + 0.5) * h;
    std::vector<double> logits;
    {
        autograd::NoGradGuard no_grad;
        logits = m.dec->decode(from_vector(z, Shape{n, 1}), Tensor()).to_vector<double>();
    }
    std::vector<double> out;
    for (int code = 0; code < 16; ++code) {
        std::vector<double> terms(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
            double lp = log_normal(z[size_t(i)], 0, 0) + std::log(h);
            for (int j = 0; j < 4; ++j) {
                double l = logits[size_t(i * 4 + j)];
                lp += ((code >> j) & 1) * l - softplus(l);
            }
            terms[size_t(i)] = lp;
        }
        out.push_back(log_sum_exp(terms));
    }
    return out;
}

// x repeated r times: [r, 1, 1, 4].
Tensor repeated(const Tensor& x, int64_t r) { return x.expand({r, 1, 1, 4}).contiguous(); }

double mean_of(const Tensor& t) { return mean(t).item(); }

// Ten synthetic classes of 28x28 images a cvae can tell apart only by their label's pattern:
// class c < 5 a horizontal bar at rows 4c+3.., class c >= 5 a vertical bar at columns
// 4(c-5)+5.., jittered by a row or column and noisy.
data::Batch bar_images(int64_t n, uint64_t seed) {
    manual_seed(seed);
    Tensor labels = randint(0, 10, {n});
    Tensor jitter = randint(0, 3, {n});
    Tensor noise = rand({n, 1, 28, 28}, {}, 0.0, 0.15);
    std::vector<float> px = noise.to_vector<float>();
    std::vector<int64_t> y = labels.to_vector<int64_t>(), jit = jitter.to_vector<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
        const int64_t c = y[size_t(i)], start = 4 * (c % 5) + 3 + jit[size_t(i)] + (c >= 5 ? 2 : 0);
        for (int64_t a = start; a < start + 4; ++a)
            for (int64_t b = 2; b < 26; ++b) {
                int64_t r = c < 5 ? a : b, col = c < 5 ? b : a;
                px[size_t(i * 784 + r * 28 + col)] = 0.9f;
            }
    }
    data::Batch batch;
    batch.images = from_vector(px, Shape{n, 1, 28, 28});
    batch.labels = labels;
    return batch;
}

// Per-class mean images [10, 784] of images [n, 1, 28, 28] with labels [n].
std::vector<std::vector<double>> class_means(const Tensor& images, const Tensor& labels) {
    std::vector<double> px = images.to_vector<double>();
    std::vector<int64_t> y = labels.to_vector<int64_t>();
    std::vector<std::vector<double>> means(10, std::vector<double>(784, 0.0));
    std::vector<int64_t> count(10, 0);
    for (size_t i = 0; i < y.size(); ++i) {
        ++count[size_t(y[i])];
        for (size_t p = 0; p < 784; ++p) means[size_t(y[i])][p] += px[i * 784 + p];
    }
    for (size_t c = 0; c < 10; ++c)
        for (double& v : means[c]) v /= double(std::max<int64_t>(count[c], 1));
    return means;
}

double squared_distance(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
    return s;
}

}  // namespace

// ---- one step against PyTorch -----------------------------------------------------------------
TEST_CASE("vae step vs PyTorch: vae and cvae with beta 0.5 (float32 and float64)") {
    for (const char* name : {"mlp", "cvae_beta"}) {
        check_replay(name, DType::Float32, 1e-4);
        check_replay(name, DType::Float64, 1e-10);
    }
}

// ---- the bounds against quadrature -------------------------------------------------------------
TEST_CASE("vae bounds: ELBO <= IWAE_K <= log p(x), IWAE_K rises to log p(x) (1-D latent, quadrature)") {
    manual_seed(5);
    TinyVae m;
    std::vector<double> log_px = log_marginals(m);
    double total = 0;
    for (double lp : log_px) total += std::exp(lp);
    CHECK(std::abs(total - 1.0) < 1e-6);  // the quadrature sums p(x) over every binary image to 1

    for (int code : {0b0000, 0b1011, 0b0110}) {
        CAPTURE(code);
        const double exact = log_px[size_t(code)];
        Tensor x = TinyVae::image(code);
        // Nested K: IWAE_K of the first K of 1024 samples, in R independent repetitions.
        const int64_t r = 400, k_max = 1024;
        Tensor eps = randn({k_max, r, 1}, {DType::Float64});
        Tensor xs = repeated(x, r);
        Tensor log_w = models::log_importance_weights(*m.enc, *m.dec, xs, Tensor(), eps);  // [K, R]
        std::vector<double> iwae;
        for (int64_t k : {1, 4, 16, 64, 256, 1024})
            iwae.push_back(mean_of(models::iwae_from_log_weights(log_w.slice(0, 0, k))));
        models::LikelihoodBounds b = models::likelihood_bounds(*m.enc, *m.dec, xs, Tensor(), eps);
        const double elbo = mean_of(b.elbo);
        INFO("log p(x) " << exact << ", ELBO " << elbo << ", IWAE_1..1024 " << iwae[0] << " " << iwae[1] << " "
                         << iwae[2] << " " << iwae[3] << " " << iwae[4] << " " << iwae[5]);
        const double gap = exact - elbo;
        CHECK(gap > 0.05);                                  // the encoder is poor: a real gap
        CHECK(std::abs(iwae[0] - elbo) < 0.1 * gap);       // IWAE_1 estimates the ELBO
        CHECK(std::abs(mean_of(b.iwae) - iwae[5]) < 1e-9);  // the same K = 1024 estimate
        for (size_t i = 1; i < iwae.size(); ++i) CHECK(iwae[i] > iwae[i - 1]);
        for (double v : iwae) CHECK(v < exact + 0.01 * gap);
        CHECK(exact - iwae[5] < 0.25 * gap);                // most of the gap closed
    }
}

TEST_CASE("vae bounds: the IWAE and ELBO estimates for fixed samples match the formula in double") {
    manual_seed(6);
    TinyVae m;
    const int64_t k = 5;
    std::vector<Tensor> images;
    for (int code : {0b0001, 0b1110, 0b0101}) images.push_back(TinyVae::image(code));
    Tensor x = cat(images, 0);  // [3, 1, 1, 4]
    Tensor eps = randn({k, 3, 1}, {DType::Float64});
    models::LikelihoodBounds b = models::likelihood_bounds(*m.enc, *m.dec, x, Tensor(), eps);
    Tensor iwae = models::iwae_from_log_weights(models::log_importance_weights(*m.enc, *m.dec, x, Tensor(), eps));

    auto w = [](nn::Module& mod, const std::string& name) {
        for (auto& [n, p] : mod.named_parameters())
            if (n == name) return p.to_vector<double>();
        FAIL("no parameter " << name);
        return std::vector<double>();
    };
    auto ew1 = w(*m.enc, "fc1.weight"), eb1 = w(*m.enc, "fc1.bias"), emw = w(*m.enc, "mu.weight"),
         emb = w(*m.enc, "mu.bias"), elw = w(*m.enc, "logvar.weight"), elb = w(*m.enc, "logvar.bias");
    auto dw1 = w(*m.dec, "fc1.weight"), db1 = w(*m.dec, "fc1.bias"), dw2 = w(*m.dec, "fc2.weight"),
         db2 = w(*m.dec, "fc2.bias");
    std::vector<double> px = x.to_vector<double>(), e = eps.to_vector<double>();
    std::vector<double> got_iwae = iwae.to_vector<double>(), got_elbo = b.elbo.to_vector<double>();
    std::vector<double> got_b_iwae = b.iwae.to_vector<double>();
    for (size_t i = 0; i < 3; ++i) {
        double mu = emb[0], lv = elb[0];
        for (size_t h = 0; h < 8; ++h) {
            double a = eb1[h];
            for (size_t j = 0; j < 4; ++j) a += ew1[h * 4 + j] * px[i * 4 + j];
            a = std::max(a, 0.0);
            mu += emw[h] * a;
            lv += elw[h] * a;
        }
        std::vector<double> log_w, log_px_z;
        for (size_t s = 0; s < size_t(k); ++s) {
            double z = mu + std::exp(lv / 2) * e[s * 3 + i];
            double lp = 0;
            for (size_t j = 0; j < 4; ++j) {
                double l = db2[j];
                for (size_t h = 0; h < 8; ++h) l += dw2[j * 8 + h] * std::max(dw1[h] * z + db1[h], 0.0);
                lp += px[i * 4 + j] * l - softplus(l);
            }
            log_px_z.push_back(lp);
            log_w.push_back(lp + log_normal(z, 0, 0) - log_normal(z, mu, lv));  // full Gaussian densities
        }
        const double want_iwae = log_sum_exp(log_w) - std::log(double(k));
        double mean_lp = 0;
        for (double v : log_px_z) mean_lp += v / double(k);
        const double want_elbo = mean_lp - (-0.5 * (1 + lv - mu * mu - std::exp(lv)));
        CAPTURE(i);
        CHECK(std::abs(got_iwae[i] - want_iwae) < 1e-12 * (1 + std::abs(want_iwae)));
        CHECK(std::abs(got_b_iwae[i] - want_iwae) < 1e-12 * (1 + std::abs(want_iwae)));
        CHECK(std::abs(got_elbo[i] - want_elbo) < 1e-12 * (1 + std::abs(want_elbo)));
    }
}

// ---- the Model ---------------------------------------------------------------------------------
TEST_CASE("vae likelihood(): the reported numbers agree with each other and with the training loss") {
    auto model = make_model("vae", {{"hidden", 64}});
    models::VaeModel& vae = as_vae(*model);
    manual_seed(2);
    Tensor u8 = randint(0, 256, {40, 1, 28, 28}, {DType::UInt8});
    Tensor x = data::to_float(u8, data::PixelRange::ZeroOne);
    models::Likelihood::Options opt;
    opt.iwae_k = 300;  // chunks of 42 images: the last chunk is short
    manual_seed(9);
    models::Metrics m = model->likelihood(x, Tensor(), opt);
    manual_seed(9);
    models::Metrics m_u8 = model->likelihood(u8, Tensor(), opt);
    CHECK(metric(m, "iwae") == metric(m_u8, "iwae"));  // uint8 is read as v/255
    CHECK(metric(m, "iwae_k") == 300);
    CHECK(metric(m, "nll_nats") == -metric(m, "iwae"));
    CHECK(std::abs(metric(m, "nll_bits_per_dim") - metric(m, "nll_nats") / (784 * std::log(2.0))) < 1e-12);
    CHECK(metric(m, "elbo") < metric(m, "iwae"));
    CHECK(metric(m, "iwae") < 0);
    // The training loss at beta 1 is a one-sample estimate of -ELBO: average many.
    double loss = 0;
    const int repeats = 200;
    {
        autograd::NoGradGuard no_grad;
        for (int i = 0; i < repeats; ++i)
            loss += models::vae_loss(vae.encoder(), vae.decoder(), x, Tensor(), randn({40, 20})).loss.item();
    }
    loss /= repeats;
    INFO("ELBO " << metric(m, "elbo") << " vs mean training loss " << loss);
    CHECK(std::abs(metric(m, "elbo") + loss) < 0.5);
    models::Likelihood::Options zero_k;
    zero_k.iwae_k = 0;
    CHECK(test::error_of([&] { model->likelihood(x, Tensor(), zero_k); }).find("iwae_k") != std::string::npos);

    // Progress: called after each chunk (12 images at K = 1000), ending at the total, and
    // watching changes nothing.
    models::Likelihood::Options quiet, watched;
    quiet.iwae_k = watched.iwae_k = 1000;
    std::vector<std::pair<int64_t, int64_t>> calls;
    watched.progress = [&](int64_t done, int64_t total) { calls.emplace_back(done, total); };
    manual_seed(9);
    models::Metrics m_quiet = model->likelihood(x, Tensor(), quiet);
    manual_seed(9);
    models::Metrics m_watched = model->likelihood(x, Tensor(), watched);
    CHECK(metric(m_quiet, "iwae") == metric(m_watched, "iwae"));
    const std::vector<std::pair<int64_t, int64_t>> want = {{12, 40}, {24, 40}, {36, 40}, {40, 40}};
    CHECK(calls == want);
}

TEST_CASE("every VAE's step reports its parts and learns a fixed batch") {
    for (const char* name : {"vae", "cvae", "convvae"}) {
        for (bool binarize : {false, true}) {
            CAPTURE(name);
            CAPTURE(binarize);
            auto model = make_model(name, {{"beta", 0.7}, {"binarize", binarize}});
            models::VaeModel& vae = as_vae(*model);
            data::Batch b = bar_images(16, 3);
            Tensor eps = randn({16, 20});
            models::Metrics first = vae.step(b, eps), last;
            for (int i = 0; i < 8; ++i) last = vae.step(b, eps);
            CHECK(metric(last, "loss") < metric(first, "loss") - 20);
            CHECK(std::abs(metric(last, "loss") - (metric(last, "recon") + 0.7 * metric(last, "kl"))) < 1e-3);
            CHECK(metric(last, "elbo") == doctest::Approx(-(metric(last, "recon") + metric(last, "kl"))));
            CHECK(metric(last, "kl") > 0);
            models::Metrics drawn = model->train_step(b);  // eps drawn by the model
            CHECK(std::isfinite(metric(drawn, "loss")));
        }
    }
}

TEST_CASE("cvae follows its label: samples per label are nearest that class's mean image") {
    auto model = make_model("cvae", {{"hidden", 128}, {"latent_dim", 8}});
    REQUIRE(model->conditional());
    REQUIRE(model->data_spec().labels);
    data::Batch data = bar_images(512, 4);
    // The same z decoded with two labels differs.
    models::VaeModel& vae = as_vae(*model);
    {
        autograd::NoGradGuard no_grad;
        Tensor z = randn({1, 8});
        Tensor a = vae.decoder().decode(z, one_hot(from_vector<int64_t>({2}), 10));
        Tensor c = vae.decoder().decode(z, one_hot(from_vector<int64_t>({7}), 10));
        CHECK(max_abs(sub(a, c).to_vector<double>()) > 1e-3);
    }
    for (int epoch = 0; epoch < 40; ++epoch)
        for (int64_t s = 0; s < 512; s += 64) {
            data::Batch b;
            b.images = data.images.slice(0, s, s + 64);
            b.labels = data.labels.slice(0, s, s + 64);
            model->train_step(b);
        }
    auto real = class_means(data.images, data.labels);
    std::vector<int64_t> labels;
    for (int64_t c = 0; c < 10; ++c)
        for (int i = 0; i < 20; ++i) labels.push_back(c);
    Tensor y = from_vector(labels);
    Tensor samples = model->sample_with_labels(y);
    REQUIRE(samples.shape() == Shape{200, 1, 28, 28});
    auto fake = class_means(samples, y);
    for (size_t c = 0; c < 10; ++c) {
        size_t nearest = 0;
        for (size_t d = 1; d < 10; ++d)
            if (squared_distance(fake[c], real[d]) < squared_distance(fake[c], real[nearest])) nearest = d;
        CAPTURE(c);
        CHECK(nearest == c);
    }
    CHECK(test::error_of([&] { make_model("vae", {})->sample_with_labels(y); }).find("not class-conditional") !=
          std::string::npos);
}

TEST_CASE("vae complete(): the known rows stay exactly, the rest is filled, completions differ") {
    for (const char* name : {"vae", "cvae", "convvae"}) {
        CAPTURE(name);
        auto model = make_model(name, {});
        data::Batch b = bar_images(3, 8);
        for (int i = 0; i < 3; ++i) model->train_step(b);
        Tensor out = model->complete(b.images, b.labels, 14, 4);
        REQUIRE(out.shape() == Shape{12, 1, 28, 28});
        std::vector<float> got = out.to_vector<float>(), in = b.images.to_vector<float>();
        bool kept = true, in_range = true;
        for (size_t i = 0; i < 12; ++i)
            for (size_t p = 0; p < 784; ++p) {
                float v = got[i * 784 + p];
                if (p < 14 * 28) kept = kept && v == in[(i / 4) * 784 + p];
                in_range = in_range && v >= 0 && v <= 1;
            }
        CHECK(kept);
        CHECK(in_range);
        // Two completions of image 0 differ below row 14 (each draws its own z).
        double diff = 0;
        for (size_t p = 14 * 28; p < 784; ++p) diff = std::max(diff, double(std::abs(got[p] - got[784 + p])));
        CHECK(diff > 1e-3);
        CHECK(test::error_of([&] { model->complete(b.images, b.labels, 29, 1); }).find("keep_rows") !=
              std::string::npos);
    }
    auto cvae = make_model("cvae", {});
    CHECK(test::error_of([&] { cvae->complete(bar_images(2, 1).images, Tensor(), 10, 1); }).find("labels") !=
          std::string::npos);
}

TEST_CASE("vae interpolate() and sample(): shapes, Bernoulli means, rows that move") {
    for (const char* name : {"vae", "cvae", "convvae"}) {
        CAPTURE(name);
        auto model = make_model(name, {});
        Tensor grid = model->interpolate(3, 7);
        REQUIRE(grid.shape() == Shape{21, 1, 28, 28});
        std::vector<float> v = grid.to_vector<float>();
        CHECK(std::all_of(v.begin(), v.end(), [](float p) { return p >= 0 && p <= 1; }));
        // Along a row the images change step by step: the ends differ more than neighbours.
        auto dist = [&](int a, int b) {
            double s = 0;
            for (size_t p = 0; p < 784; ++p) s += std::pow(v[size_t(a) * 784 + p] - v[size_t(b) * 784 + p], 2);
            return s;
        };
        CHECK(dist(0, 6) > dist(0, 1));
        CHECK(dist(0, 6) > 0);
        Tensor s = model->sample(5);
        CHECK(s.shape() == Shape{5, 1, 28, 28});
        CHECK(test::error_of([&] { model->interpolate(2, 1); }).find("steps") != std::string::npos);
    }
}

TEST_CASE("vae with latent_dim 2 draws its latent space and decoded manifold") {
    test::TempDir dir("vae-visuals");
    for (const char* name : {"vae", "cvae"}) {
        CAPTURE(name);
        auto model = make_model(name, {{"latent_dim", 2}});
        CHECK(model->data_spec().labels);  // labels colour the picture
        data::Batch b = bar_images(64, 2);
        model->train_step(b);
        model->write_visuals(dir.str(), 7);
        const std::string scatter = dir / "latent_0000007.png";
        REQUIRE(std::filesystem::exists(scatter));
        Tensor img = io::read_png(scatter);
        CHECK(img.size(1) == 3);
        CHECK(img.size(3) == 480);
        bool manifold = std::filesystem::exists(dir / "manifold_0000007.png");
        CHECK(manifold == (std::string(name) == "vae"));
        std::filesystem::remove(dir / "manifold_0000007.png");
    }
    CHECK_FALSE(make_model("vae", {})->data_spec().labels);
}

TEST_CASE("vae options: defaults, config(), refusals that name the key") {
    auto model = make_model("vae", {});
    nlohmann::json c = model->config();
    CHECK(c["latent_dim"] == 20);
    CHECK(c["hidden"] == 400);
    CHECK(c["beta"] == 1.0);
    CHECK(c["binarize"] == false);
    CHECK(model->batch_size() == 128);
    CHECK(c["lr"] == 1e-3);
    // workloads.md's shapes and PyTorch's names.
    std::set<std::string> names;
    for (auto& [net, module] : model->modules())
        for (auto& [k, p] : module->named_parameters()) names.insert(net + "." + k + p.shape().str());
    CHECK(names == std::set<std::string>{"encoder.fc1.weight[400, 784]", "encoder.fc1.bias[400]",
                                         "encoder.mu.weight[20, 400]", "encoder.mu.bias[20]",
                                         "encoder.logvar.weight[20, 400]", "encoder.logvar.bias[20]",
                                         "decoder.fc1.weight[400, 20]", "decoder.fc1.bias[400]",
                                         "decoder.fc2.weight[784, 400]", "decoder.fc2.bias[784]"});
    REQUIRE(model->optimizers().size() == 1);
    CHECK(model->optimizers()[0].second->num_params() == 10);  // one Adam over both networks
    std::string e = test::error_of([] { make_model("vae", {{"latnt_dim", 2}}); });
    CHECK(e.find("latnt_dim") != std::string::npos);
    CHECK(e.find("latent_dim") != std::string::npos);
    CHECK(test::error_of([] { make_model("convvae", {{"hidden", 64}}); }).find("hidden") != std::string::npos);
    CHECK(test::error_of([] { make_model("vae", {{"beta", -1}}); }).find("beta") != std::string::npos);
    CHECK(test::error_of([] { make_model("vae", {{"binarize", 3}}); }).find("binarize") != std::string::npos);
}

// ---- image data sets at any size ---------------------------------------------------------------
namespace {

// A tiny npy data set: 20 images [20, S, S] (grey) or [20, S, S, 3], a smooth pattern per
// class plus noise, with labels 0 and 1 in a second file: the --data value naming both.
std::string write_npy_images(const test::TempDir& dir, const std::string& name, int64_t size, int64_t channels) {
    const int64_t n = 20;
    std::vector<uint8_t> px;
    std::vector<int64_t> labels;
    manual_seed(17);
    std::vector<float> noise = rand({n * size * size * channels}).to_vector<float>();
    for (int64_t i = 0; i < n; ++i) {
        labels.push_back(i % 2);
        for (int64_t y = 0; y < size; ++y)
            for (int64_t x = 0; x < size; ++x)
                for (int64_t c = 0; c < channels; ++c) {
                    const double v = (i % 2 ? double(x) : double(y)) / double(size) * 200.0 + 30.0 * double(c) +
                                     20.0 * noise[px.size()];
                    px.push_back(uint8_t(std::min(255.0, v)));
                }
    }
    Shape shape = channels == 1 ? Shape{n, size, size} : Shape{n, size, size, channels};
    io::write_npy(dir / (name + ".npy"), from_vector(px, shape));
    io::write_npy(dir / (name + "-labels.npy"), from_vector(labels, Shape{n}));
    return "npy:" + (dir / (name + ".npy")) + ",labels=" + (dir / (name + "-labels.npy"));
}

nlohmann::json image_options(const std::string& name, const std::string& data, int64_t size, int64_t channels) {
    nlohmann::json o = {{"data", data}, {"image_size", size}, {"channels", channels}, {"latent_dim", 4},
                        {"batch_size", 8}};
    if (name != "convvae") o["hidden"] = 32;
    return o;
}

std::map<std::string, Shape> parameter_shapes(models::Model& model) {
    std::map<std::string, Shape> out;
    for (auto& [net, module] : model.modules())
        for (auto& [k, p] : module->named_parameters()) out[net + "." + k] = p.shape();
    return out;
}

}  // namespace

TEST_CASE("vae family on image data sets: 32x32 RGB and 16x16 grey networks, a step, samples, per-dim likelihood") {
    test::TempDir dir("vae-images");
    struct Set {
        std::string data;
        int64_t size, channels;
    };
    const std::vector<Set> sets = {{write_npy_images(dir, "rgb32", 32, 3), 32, 3},
                                   {write_npy_images(dir, "grey16", 16, 1), 16, 1}};
    for (const Set& set : sets)
        for (const char* name : {"vae", "cvae", "convvae"}) {
            const int64_t c = set.channels, s = set.size, dims = c * s * s;
            CAPTURE(name);
            CAPTURE(s);
            auto model = make_model(name, image_options(name, set.data, s, c));
            models::VaeModel& vae = as_vae(*model);
            const bool cond = std::string(name) == "cvae";

            // The data spec and the config name the data; the networks fit C x S x S.
            models::DataSpec spec = model->data_spec();
            CHECK(spec.source == models::DataSpec::Source::Images);
            CHECK(spec.image_size == s);
            CHECK(spec.channels == c);
            CHECK(spec.range == data::PixelRange::ZeroOne);
            CHECK(spec.labels == cond);
            nlohmann::json config = model->config();
            CHECK(config["data"] == set.data);
            CHECK(config["image_size"] == s);
            CHECK(config["channels"] == c);
            CHECK(model->class_count() == (cond ? 2 : 0));
            std::map<std::string, Shape> shapes = parameter_shapes(*model);
            if (std::string(name) == "convvae") {
                // 32: 32, 64, 128 channels down to 4x4; 16: 32, 64 down to 4x4.
                const int64_t top = s == 32 ? 128 : 64;
                CHECK(shapes["encoder.conv1.weight"] == Shape{32, c, 4, 4});
                CHECK(shapes.count("encoder.conv3.weight") == (s == 32 ? 1u : 0u));
                CHECK(shapes["encoder.fc.weight"] == Shape{8, top * 16});
                CHECK(shapes["decoder.fc.weight"] == Shape{top * 16, 4});
                CHECK(shapes[s == 32 ? "decoder.deconv3.weight" : "decoder.deconv2.weight"] == Shape{32, c, 4, 4});
            } else {
                CHECK(shapes["encoder.fc1.weight"] == Shape{32, dims + (cond ? 2 : 0)});
                CHECK(shapes["decoder.fc2.weight"] == Shape{dims, 32});
            }

            // A step on the training split; a few on one fixed batch learn it.
            models::ImageData d = models::load_image_data(spec);
            REQUIRE(d.images.shape() == Shape{18, c, s, s});  // every 10th image of a class held out
            data::Batch b;
            b.images = data::to_float(d.images.slice(0, 0, 8), data::PixelRange::ZeroOne);
            b.labels = d.labels.slice(0, 0, 8).contiguous();
            Tensor eps = randn({8, 4});
            models::Metrics first = vae.step(b, eps), last;
            for (int i = 0; i < 5; ++i) last = vae.step(b, eps);
            CHECK(std::isfinite(metric(first, "loss")));
            CHECK(metric(last, "loss") < metric(first, "loss"));
            CHECK(metric(first, "recon") > 0.3 * double(dims));  // BCE summed over C*S*S intensities

            Tensor samples = model->sample(3);
            REQUIRE(samples.shape() == Shape{3, c, s, s});
            std::vector<float> v = samples.to_vector<float>();
            CHECK(std::all_of(v.begin(), v.end(), [](float p) { return p >= 0 && p <= 1; }));
            CHECK(model->interpolate(2, 3).shape() == Shape{6, c, s, s});
            if (cond) CHECK(model->sample_with_labels(from_vector<int64_t>({0, 1})).shape() == Shape{2, c, s, s});
            Tensor done = model->complete(b.images.slice(0, 0, 2), b.labels.slice(0, 0, 2), s / 2, 2);
            REQUIRE(done.shape() == Shape{4, c, s, s});
            CHECK(max_abs(sub(done.slice(0, 2, 3).slice(2, 0, s / 2), b.images.slice(0, 1, 2).slice(2, 0, s / 2))
                              .to_vector<double>()) == 0);  // the known rows of every channel

            // The likelihood of uint8 images: the bounds of objective.h for the same noise, per
            // image in nats and per dimension (C*S*S) in bits.
            models::Likelihood::Options opt;
            opt.iwae_k = 3;
            manual_seed(4);
            models::Metrics m = model->likelihood(d.images, cond ? d.labels : Tensor(), opt);
            manual_seed(4);
            Tensor all_eps = randn({3, 18, 4});
            Tensor x = data::to_float(d.images, data::PixelRange::ZeroOne);
            Tensor onehot = cond ? one_hot(d.labels, 2) : Tensor();
            models::LikelihoodBounds want = models::likelihood_bounds(vae.encoder(), vae.decoder(), x, onehot, all_eps);
            CHECK(metric(m, "nll_nats") == doctest::Approx(-mean(want.iwae).item()).epsilon(1e-9));
            CHECK(metric(m, "elbo") == doctest::Approx(mean(want.elbo).item()).epsilon(1e-9));
            CHECK(metric(m, "nll_bits_per_dim") ==
                  doctest::Approx(metric(m, "nll_nats") / (double(dims) * std::log(2.0))).epsilon(1e-12));
            // Images of another shape are refused, naming the model's.
            Tensor fashion = zeros({2, 1, 28, 28});
            CHECK(test::error_of([&] { model->likelihood(fashion, cond ? from_vector<int64_t>({0, 1}) : Tensor(), opt); })
                      .find(fmt::format("[N, {}, {}, {}]", c, s, s)) != std::string::npos);
        }
    // convvae's blocks need S = 7 or 4 times a power of two; the MLPs take any size.
    CHECK(test::error_of([&] { make_model("convvae", image_options("convvae", sets[0].data, 30, 3)); })
              .find("image size 30 is not offered") != std::string::npos);
    CHECK(parameter_shapes(*make_model("vae", image_options("vae", sets[0].data, 30, 3)))["decoder.fc2.weight"] ==
          Shape{2700, 32});
}

TEST_CASE("vae family on image data sets: a 32x32 RGB checkpoint rebuilds its networks; another size is an error") {
    test::TempDir dir("vae-checkpoint");
    const std::string rgb = write_npy_images(dir, "rgb32", 32, 3);
    for (const char* name : {"vae", "cvae", "convvae"}) {
        CAPTURE(name);
        auto model = make_model(name, image_options(name, rgb, 32, 3));
        models::ImageData d = models::load_image_data(model->data_spec());
        data::Batch b;
        b.images = data::to_float(d.images.slice(0, 0, 8), data::PixelRange::ZeroOne);
        b.labels = d.labels.slice(0, 0, 8).contiguous();
        model->train_step(b);
        const std::string path = dir / (std::string(name) + ".safetensors");
        models::save_model_checkpoint(*model, path, 1, 0, 1);

        // As `minigen sample` does: the model from the checkpoint's config alone.
        std::string trained_as;
        models::ModelConfig config = tools::config_from_checkpoint(path, tools::CommonModelArgs{}, &trained_as);
        CHECK(trained_as == name);
        auto again = models::find_model(name).create(config);
        models::load_model_checkpoint(*again, path, /*with_optimizers=*/true);
        CHECK(again->data_spec().image_size == 32);
        CHECK(again->data_spec().channels == 3);
        manual_seed(3);
        Tensor want = model->sample(2);
        manual_seed(3);
        Tensor got = as_vae(*again).sample(2);
        REQUIRE(got.shape() == Shape{2, 3, 32, 32});
        CHECK(max_abs(sub(got, want).to_vector<double>()) == 0);

        // Another size, or other data, against the checkpoint: one clear error.
        tools::CommonModelArgs other;
        other.image_size = 16;
        CHECK(test::error_of([&] { tools::config_from_checkpoint(path, other, &trained_as); })
                  .find("--image-size 16: " + path + " was trained with image_size 32") != std::string::npos);
        other = {};
        other.data = "fashion-mnist";
        CHECK(test::error_of([&] { tools::config_from_checkpoint(path, other, &trained_as); })
                  .find("was trained with data") != std::string::npos);
        // A model of another size cannot take these weights.
        auto small = make_model(name, image_options(name, rgb, 16, 3));
        CHECK(test::error_of([&] { models::load_model_checkpoint(*small, path, false); }).find(path) !=
              std::string::npos);
    }
    // A Fashion-MNIST checkpoint records its data; an image data set against it is an error.
    auto fashion = make_model("convvae", {});
    CHECK(fashion->config().at("data") == "fashion-mnist");
    const std::string path = dir / "fashion.safetensors";
    models::save_model_checkpoint(*fashion, path, 0, 0, 0);
    tools::CommonModelArgs args;
    args.data = rgb;
    std::string trained_as;
    CHECK(test::error_of([&] { tools::config_from_checkpoint(path, args, &trained_as); })
              .find("was trained with data \"fashion-mnist\"") != std::string::npos);
}

TEST_CASE("convvae on Fashion-MNIST keeps its 28x28 networks") {
    auto model = make_model("convvae", {});
    std::map<std::string, Shape> want = {
        {"encoder.conv1.weight", {32, 1, 4, 4}}, {"encoder.conv1.bias", {32}},
        {"encoder.conv2.weight", {64, 32, 4, 4}}, {"encoder.conv2.bias", {64}},
        {"encoder.fc.weight", {40, 3136}},       {"encoder.fc.bias", {40}},
        {"decoder.fc.weight", {3136, 20}},       {"decoder.fc.bias", {3136}},
        {"decoder.deconv1.weight", {64, 32, 4, 4}}, {"decoder.deconv1.bias", {32}},
        {"decoder.deconv2.weight", {32, 1, 4, 4}},  {"decoder.deconv2.bias", {1}}};
    CHECK(parameter_shapes(*model) == want);
    models::DataSpec spec = model->data_spec();
    CHECK(spec.source == models::DataSpec::Source::FashionMnist);
    CHECK(model->config() == make_model("convvae", {{"data", "fashion-mnist"}, {"image_size", 28}})->config());
    CHECK(test::error_of([] { make_model("vae", {{"image_size", 32}}); }).find("Fashion-MNIST is 28x28") !=
          std::string::npos);
}
