"""Public checks for `autoencoder`: the two halves, forward, the loss history and the plain
model's training.

Oracles a student also has: torch (the contract's layers, rebuilt here from your model's own
parameters and compared with your model's outputs on inputs chosen here), the loss of a model
whose parameters do not change (``lr=0``), scikit-learn's PCA (computed in numpy by the judge).
The plain model is trained once per grading run on the training images only; its trained parameters are evaluated on held-out
images your code never receives.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.errors import CheckFailure
from grader.exercises.autoencoder import figures, history, judge, network
from grader.expect import expect_array, fail

pytestmark = pytest.mark.visibility("visible")

# Lecture sizes and the digits profile's sizes: the contract's defaults must work, and the
# sizes must come from the arguments, not be hard-wired.
ARCHITECTURES = [pytest.param((784, 128, 32), id="784-128-32"),
                 pytest.param((64, 32, 8), id="64-32-8")]
FORWARD_SIZES = (64, 32, 8)


@pytest.fixture(scope="module")
def setup(request, settings, device, secret_seed) -> judge.Setup:
    return judge.setup(request.config, settings, device, secret_seed)


@pytest.fixture(scope="module")
def plain(request, student, setup, settings) -> judge.Trained:
    return judge.trained(request.config, student, setup, settings, "plain")


def _expect_contract(half: network.Half, sizes) -> None:
    if not half.is_contract:
        fail(f"{judge.built_what(sizes)}: model.{half.name} computes "
             f"{network.layers_text(half.name, sizes, half.activations)} where the contract "
             f"has {network.layers_text(half.name, sizes)}: " + "; ".join(half.differences()))


@pytest.mark.points(1)
@pytest.mark.parametrize("sizes", ARCHITECTURES)
def test_encoder_computes_the_contracts_function(request, student, sizes, seed):
    _expect_contract(judge.examined(request.config, student, "encoder", sizes, seed), sizes)


@pytest.mark.points(1)
@pytest.mark.parametrize("sizes", ARCHITECTURES)
def test_decoder_computes_the_contracts_function(request, student, sizes, seed):
    _expect_contract(judge.examined(request.config, student, "decoder", sizes, seed), sizes)


@pytest.mark.points(2)
def test_forward_is_decoder_of_encoder(request, student, seed):
    sizes = FORWARD_SIZES
    x = judge.check_inputs(sizes, seed)["encoder"]
    what = f"{judge.built_what(sizes)} applied to a batch x of shape {x.shape}"
    halves = {}
    for half in network.HALVES:
        try:
            halves[half] = judge.examined(request.config, student, half, sizes, seed)
        except CheckFailure:
            fail(f"{what}: model(x) cannot be compared with model.decoder(model.encoder(x)), "
                 f"because model.{half} does not compute Linear layers with activations from "
                 f"its parameters (the {half} check says where it differs)")
    expected = network.run(halves["decoder"], network.run(halves["encoder"], x))
    values = {half: judge.examine_params(half, sizes, seed) for half in network.HALVES}
    got = student.probe("forward", x, *sizes, seed=seed, params=values)
    expect_array(got, shape=expected.shape, dtype="float", what=f"{what}: model(x)")
    if not network.matches(got, expected):
        fail(f"{what}: model(x) differs from model.decoder(model.encoder(x)) (computed here "
             f"from your encoder's and decoder's parameters){network.worst(got, expected)}. "
             "forward must return decoder(encoder(x)).")


@pytest.mark.points(2)
def test_training_history_is_the_mean_loss_of_each_epoch(request, student, setup, settings):
    run = judge.at_lr0(request.config, student, setup, settings, "plain")
    got = history.values(run.history, what=run.what, strict=True)
    expected = history.exact_loss(run.network, run.X, 0.0)["contract"]
    for epoch, value in enumerate(got):
        if not abs(value - expected) <= history.RTOL * abs(expected):
            ratio = value / expected if expected else float("nan")
            fail(f"{run.what} returned history {np.round(got, 6).tolist()}: with lr=0 the model "
                 f"does not change, so every epoch's mean loss is the MSE of the model on X, "
                 f"{expected:.6g} (computed here from your model's parameters). Epoch {epoch}: "
                 f"got {value:.6g}, {ratio:.4g} times that (tolerance: relative "
                 f"{history.RTOL:g})." + history.scale_hint(ratio))


@pytest.mark.points(3)
def test_training_loss_decreases(plain, setup, settings, feedback):
    what = judge.what_trained(setup, settings, "plain")
    try:
        curve = history.expect_history(plain.history, setup.profile.epochs, what=what,
                                       strict=False)
        feedback.image(figures.loss_curve(curve, title="plain autoencoder: training loss"),
                       "autoencoder_loss_curve", "Training loss per epoch (plain autoencoder), "
                       "as your train_autoencoder returned it")
    except CheckFailure:
        pass  # the history's form is judged by the history check
    loss = judge.training_loss(plain, setup, settings.train_seed)
    summary = (f"{loss.summary()}; after / before {loss.ratio:.3f} (must be at most "
               f"{settings.max_loss_ratio:g}), after / mean image {loss.mean_ratio:.3f} (must be "
               f"at most {settings.max_mean_image_ratio:g})")
    if not loss.ratio <= settings.max_loss_ratio:
        fail(f"{what}: the loss did not decrease enough: {summary}. Does every minibatch call "
             "optimizer.zero_grad(), loss.backward() and optimizer.step(), with the learning "
             "rate you were given?")
    if not loss.mean_ratio <= settings.max_mean_image_ratio:
        fail(f"{what}: the trained model reconstructs the training images hardly better than "
             f"their mean image, an output that ignores the input: {summary}. Does the code "
             "carry information (is anything learned besides the biases)?")
    feedback.info(summary)


# A model on the CPU is what every model is, including one never built or trained: this pays
# only when the trained model's loss is judged to decrease (its parameters are then real).
@pytest.mark.points(1)
@pytest.mark.gated_by("test_training_loss_decreases")
def test_trained_model_stays_on_the_device(plain, setup, settings):
    if plain.device != setup.device:
        fail(f"{judge.what_trained(setup, settings, 'plain')}: after training the model's "
             f"parameters are on {plain.device!r}, expected {setup.device!r} (model.to(device))")


@pytest.mark.points(8)
def test_reconstructs_held_out_images_better_than_pca(plain, setup, settings, feedback):
    result = judge.compare_with_pca(judge.model_of(plain), setup)
    feedback.image(figures.image_grid([("held-out", setup.X_test[:10]),
                                       ("yours", result.recon[:10])], setup.side,
                                      title="held-out images and reconstructions"),
                   "autoencoder_reconstructions",
                   "Ten held-out images (top) and your model's reconstructions (bottom)")
    summary = (f"held-out reconstruction MSE {result.error:.5f} with {result.live} of "
               f"{setup.profile.code_dim} code units alive; PCA with {max(result.live, 1)} "
               f"component(s): "
               f"{result.pca:.5f}; ratio {result.ratio:.3f} (must be at most "
               f"{settings.max_pca_ratio:g}) [{setup.describe()}]")
    if not result.ratio <= settings.max_pca_ratio:
        fail(f"{judge.what_trained(setup, settings, 'plain')}: the trained model does not beat "
             f"PCA on held-out images: {summary}")
    feedback.info(summary)
