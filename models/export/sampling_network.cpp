#include "models/export/sampling_network.h"

#include "core/autograd.h"
#include "models/gan/adversarial.h"
#include "models/pixelcnn/gated_model.h"
#include "models/pixelcnn/pixelcnn.h"
#include "models/vae/vae_model.h"

namespace mg::models {

namespace {

// {C, S, S} of the images the model makes.
Shape image_of(const Model& model) {
    const DataSpec spec = model.data_spec();
    if (spec.source == DataSpec::Source::Images) return {spec.channels, spec.image_size, spec.image_size};
    return {1, 28, 28};  // Fashion-MNIST
}

// A PixelCNN's one forward: image x [N, C, S, S] in [0, 1] -> logits, in eval mode, no graph.
template <class Net> SamplingNetwork pixelcnn_forward(Model& model, Net& net) {
    SamplingNetwork s;
    s.model = model.name();
    s.network = &net;
    s.input_image = image_of(model);
    s.output = {s.input_image[0] * 256, s.input_image[1], s.input_image[2]};
    s.reference = [&net](const Tensor& x, const Tensor&) {
        autograd::NoGradGuard no_grad;
        const bool was_training = net.is_training();
        net.eval();
        Tensor logits = net(x);
        net.train(was_training);
        return logits;
    };
    return s;
}

}  // namespace

SamplingNetwork sampling_network(Model& model) {
    MG_CHECK(model.data_spec().source != DataSpec::Source::Toy2d,
             "export: model '{}' makes 2-D points, not images; export writes image generators (dcgan, cgan, wgan-gp), "
             "VAE decoders (vae, cvae, convvae) and pixelcnn's network",
             model.name());
    if (auto* gan = dynamic_cast<AdversarialModel*>(&model))
        return {.model = model.name(),
                .network = &gan->sampling_generator(),
                .z_dim = gan->gan_options().z_dim,
                .classes = gan->conditional() ? gan->class_count() : 0,
                .output = image_of(model),
                .reference = [gan](const Tensor& z, const Tensor& labels) { return gan->sample_from(z, labels); }};
    if (auto* vae = dynamic_cast<VaeModel*>(&model))
        return {.model = model.name(),
                .network = &vae->decoder(),
                .z_dim = vae->options().latent_dim,
                .classes = vae->conditional() ? vae->class_count() : 0,
                .output = vae->decoder().image_shape(),
                .sigmoid = true,
                .reference = [vae](const Tensor& z, const Tensor& labels) { return vae->sample_from(z, labels); }};
    if (auto* pixel = dynamic_cast<pixelcnn::PixelCnnModel*>(&model)) return pixelcnn_forward(model, pixel->net());
    // Its labels enter every gated layer, not the input: the walk stops at its network first.
    if (auto* gated = dynamic_cast<GatedPixelCnn*>(&model)) return pixelcnn_forward(model, gated->net());
    MG_FAIL("export: model '{}' has no network of a form export writes; models that have one: dcgan, cgan, wgan-gp, "
            "vae, cvae, convvae, pixelcnn",
            model.name());
}

}  // namespace mg::models
