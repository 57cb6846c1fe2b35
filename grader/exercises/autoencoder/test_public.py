"""Public checks for `autoencoder`: the architecture, forward, and the plain model's training.

Oracles a student also has: the contract's layer list, their own model's halves, PCA from
scikit-learn. The plain model is trained once per grading run in the worker (``judge.trained``)
on the training images only; the judge evaluates the returned weights in its own copy of the
architecture on held-out images.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.exercises.autoencoder import figures, judge
from grader.expect import expect_array, fail

pytestmark = pytest.mark.visibility("visible")

# Lecture sizes and the digits profile's sizes: the contract's defaults must work, and the
# sizes must come from the arguments, not be hard-wired.
ARCHITECTURES = [pytest.param((784, 128, 32), id="784-128-32"),
                 pytest.param((64, 32, 8), id="64-32-8")]


@pytest.fixture(scope="module")
def setup(request, settings, device) -> judge.Setup:
    return judge.setup(request.config, settings, device)


@pytest.fixture(scope="module")
def plain(request, student, setup, settings) -> judge.Trained:
    return judge.trained(request.config, student, setup, settings, "plain")


@pytest.mark.points(2)
@pytest.mark.parametrize("sizes", ARCHITECTURES)
def test_architecture_has_the_contracts_layers(student, sizes, seed):
    what = f"build_autoencoder{sizes}"
    judge.expect_layers(student.probe("describe", *sizes, seed=seed), sizes, what=what)


@pytest.mark.points(3)
def test_forward_is_decoder_of_encoder(student, rng, seed):
    sizes = (64, 32, 8)
    x = rng.random((5, 64)).astype(np.float32)
    what = f"build_autoencoder{sizes} applied to a batch x of shape (5, 64)"
    out = student.probe("forward_and_halves", x, *sizes, seed=seed)
    halves = expect_array(out["halves"], shape=(5, 64), dtype="float",
                          what=f"{what}: model.decoder(model.encoder(x))")
    expect_array(out["forward"], halves, dtype="float", rtol=1e-5, atol=1e-6,
                 what=f"{what}: model(x), compared with model.decoder(model.encoder(x))")


@pytest.mark.points(4)
def test_training_loss_decreases(plain, setup, settings, feedback):
    what = judge.what_trained(setup, settings, "plain")
    history = judge.expect_history(plain.history, setup.profile.epochs,
                                   what=f"{what} returned history")
    feedback.image(figures.loss_curve(history, title="plain autoencoder: training MSE"),
                   "autoencoder_loss_curve", "Training loss per epoch (plain autoencoder)")
    ratio = judge.loss_ratio(history)
    summary = (f"loss: first epoch {history[0]:.4g}, last epoch {history[-1]:.4g}, ratio "
               f"{ratio:.3f} (must be at most {settings.max_loss_ratio:g})")
    if not ratio <= settings.max_loss_ratio:
        fail(f"{what}: the loss did not decrease enough: {summary}. Does every minibatch call "
             "optimizer.zero_grad(), loss.backward() and optimizer.step(), with the learning "
             "rate you were given?")
    feedback.info(summary)


@pytest.mark.points(1)
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
               f"{setup.profile.code_dim} code units alive; PCA with {result.live} components: "
               f"{result.pca:.5f}; ratio {result.ratio:.3f} (must be at most "
               f"{settings.max_pca_ratio:g}) [{setup.describe()}]")
    if not result.ratio <= settings.max_pca_ratio:
        fail(f"{judge.what_trained(setup, settings, 'plain')}: the trained model does not beat "
             f"PCA on held-out images: {summary}")
    feedback.info(summary)
