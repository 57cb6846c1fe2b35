"""Hidden checks for `autoencoder`: the denoising and sparse variants against the plain model.

Each variant is trained once per grading run in the worker (``judge.trained``); the denoising
and sparse models are compared with a plain model of their own, wider sizes ("wide"). The judge
adds its own noise to held-out images the worker never saw and computes every code and
reconstruction with its own copy of the network.
"""

from __future__ import annotations

import pytest

from grader.exercises.autoencoder import figures, judge
from grader.expect import fail

pytestmark = pytest.mark.visibility("after_due_date")


@pytest.fixture(scope="module")
def setup(request, settings, device) -> judge.Setup:
    return judge.setup(request.config, settings, device)


@pytest.fixture(scope="module")
def denoising(request, student, setup, settings) -> judge.Trained:
    return judge.trained(request.config, student, setup, settings, "denoising")


@pytest.fixture(scope="module")
def wide(request, student, setup, settings) -> judge.Trained:
    return judge.trained(request.config, student, setup, settings, "wide")


@pytest.fixture(scope="module")
def sparse(request, student, setup, settings) -> judge.Trained:
    return judge.trained(request.config, student, setup, settings, "sparse")


@pytest.mark.points(6)
def test_denoising_model_cleans_noisy_held_out_images(wide, denoising, setup, settings,
                                                      feedback):
    result = judge.compare_denoising(judge.model_of(denoising), judge.model_of(wide), setup,
                                     settings)
    feedback.image(figures.image_grid(
        [("noisy", result.noisy[:10]), ("plain", result.by_plain[:10]),
         ("denoising", result.cleaned[:10]), ("clean", setup.X_test[:10])], setup.side,
        title=f"held-out images with noise std {settings.noise_std:g}"),
        "autoencoder_denoising", "Noisy held-out images, the plain and the denoising model's "
        "reconstructions of them, and the clean images")
    summary = (f"MSE to the clean held-out images from noisy inputs (noise std "
               f"{settings.noise_std:g}): denoising model {result.error:.5f}, plain model of "
               f"the same sizes {result.plain_error:.5f}, ratio {result.ratio:.3f} (must be at "
               f"most {settings.max_denoise_ratio:g})")
    if not result.ratio <= settings.max_denoise_ratio:
        fail(f"{judge.what_trained(setup, settings, 'denoising')}: the denoising model does not "
             f"clean noisy images better than the plain model: {summary}. The noisy images are "
             "the input; the target must be the clean batch.")
    feedback.info(summary)


@pytest.mark.points(4)
def test_sparse_model_has_smaller_codes(wide, sparse, setup, settings, feedback):
    result = judge.compare_sparsity(judge.model_of(sparse), judge.model_of(wide), setup)
    what = judge.what_trained(setup, settings, "sparse")
    summary = (f"on held-out images: mean |code| of the sparse model {result.l1:.4g}, of a "
               f"plain model of the same sizes {result.plain_l1:.4g}, ratio {result.ratio:.3f} "
               f"(must be at most {settings.max_sparse_ratio:g}); reconstruction MSE "
               f"{result.error:.5f} vs {result.plain_error:.5f}, ratio {result.error_ratio:.3f} "
               f"(must be at most {settings.max_sparse_mse_ratio:g})")
    if not result.ratio <= settings.max_sparse_ratio:
        fail(f"{what}: the codes are not sparser than the plain model's: {summary}. Add "
             "l1_weight * mean(|code|) to the loss.")
    if not result.error_ratio <= settings.max_sparse_mse_ratio:
        fail(f"{what}: the codes are sparse but no longer reconstruct the images: {summary}. "
             "Is the penalty l1_weight * mean(|code|) (a mean over the batch and the code "
             "units, not a sum)?")
    feedback.info(summary)
