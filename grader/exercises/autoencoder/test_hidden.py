"""Hidden checks for `autoencoder`: the denoising and sparse variants.

Their loss histories are judged with ``lr=0`` (``history.py``): the sparse loss is the MSE plus
``l1_weight * mean(|code|)``, the denoising loss the expected MSE from noisy inputs to clean
targets. Each variant is trained once per grading run in the worker (``judge.trained``); the
denoising and sparse models are compared with a plain model of their own, wider sizes
("wide"). The judge adds its own noise to held-out images the worker never saw and computes
every code and reconstruction with its own copy of the network.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.errors import CheckFailure, StudentError
from grader.exercises.autoencoder import figures, history, judge
from grader.expect import fail

pytestmark = pytest.mark.visibility("after_due_date")

# Evidence that a real autoencoder was trained: a model that outputs the mean image has codes of
# exactly 0 (as sparse as can be) and reconstructs like a plain model that does the same; the
# comparisons with the wide plain model pay only when the plain model beats PCA.
PLAIN_WORKS = "test_reconstructs_held_out_images_better_than_pca"


@pytest.fixture(scope="module")
def setup(request, settings, device, secret_seed) -> judge.Setup:
    return judge.setup(request.config, settings, device, secret_seed)


@pytest.fixture(scope="module")
def denoising(request, student, setup, settings) -> judge.Trained:
    return judge.trained(request.config, student, setup, settings, "denoising")


@pytest.fixture(scope="module")
def wide(request, student, setup, settings) -> judge.Trained:
    return judge.trained(request.config, student, setup, settings, "wide")


@pytest.fixture(scope="module")
def sparse(request, student, setup, settings) -> judge.Trained:
    return judge.trained(request.config, student, setup, settings, "sparse")


@pytest.mark.points(5)
@pytest.mark.gated_by(PLAIN_WORKS)
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


@pytest.mark.points(3)
@pytest.mark.gated_by(PLAIN_WORKS)
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


def _lr0(request, student, setup, settings, kind: str) -> tuple[history.Run, float, str]:
    """The ``lr=0`` run of ``kind`` and the plain history's scale (divided out here: a history
    scaled by a constant is the plain history check's business)."""
    run = judge.at_lr0(request.config, student, setup, settings, kind)
    try:
        plain = judge.at_lr0(request.config, student, setup, settings, "plain")
    except (StudentError, CheckFailure):
        plain = None
    scale = history.plain_scale(plain)
    note = ("" if scale == 1.0 else
            f" (your plain history is {scale:.4g} times the mean loss, which the training "
            "history check judges; here your values are divided by that factor)")
    return run, scale, note


@pytest.mark.points(1)
def test_sparse_training_history_adds_l1_weight_times_mean_abs_code(request, student, setup,
                                                                    settings):
    run, scale, note = _lr0(request, student, setup, settings, "sparse")
    got = history.values(run.history, what=run.what, strict=False) / scale
    losses = history.exact_loss(run.network, run.X, history.L1_WEIGHT)
    expected = losses["contract"]
    for epoch, value in enumerate(got):
        if not abs(value - expected) <= history.RTOL * abs(expected):
            like = next((words for words, alt in losses.items() if words != "contract"
                         and abs(value - alt) <= history.RTOL * abs(alt)), None)
            fail(f"{run.what} returned history {np.round(got, 6).tolist()}{note}: with lr=0 "
                 f"the model does not change, so every epoch's mean loss is MSE + "
                 f"{history.L1_WEIGHT:g} * mean(|code|) over X, {expected:.6g} (computed here "
                 f"from your model's parameters). Epoch {epoch}: got {value:.6g}"
                 + (f", which is the loss {like}." if like else
                    f" (tolerance: relative {history.RTOL:g}).")
                 + " The penalty is l1_weight times the mean of |code| over the batch and the "
                   "code units, code = model.encoder(inputs).")


@pytest.mark.points(1)
def test_denoising_training_history_is_from_noisy_inputs_to_clean_targets(request, student,
                                                                          setup, settings):
    run, scale, note = _lr0(request, student, setup, settings, "denoising")
    got = history.values(run.history, what=run.what, strict=False) / scale
    seed = settings.train_seed
    expect = history.noisy_loss(run.network, run.X, history.NOISE_STD, seed)
    for epoch, value in enumerate(got):
        if not abs(value - expect.mean) <= expect.tolerance:
            alternatives = {
                "the target is the noisy input instead of the clean batch":
                    lambda: history.noisy_loss(run.network, run.X, history.NOISE_STD, seed,
                                               target="noisy"),
                "the noise is not clipped to [0, 1]":
                    lambda: history.noisy_loss(run.network, run.X, history.NOISE_STD, seed,
                                               clip=False),
            }
            clean = history.exact_loss(run.network, run.X, 0.0)["contract"]
            # without noise the loss is exact (the clean MSE), so its tolerance is the exact one
            like = ("no noise is added to the inputs"
                    if abs(value - clean) <= history.RTOL * clean
                    else next((words for words, alt in alternatives.items()
                               if abs(value - (a := alt()).mean) <= a.tolerance), None))
            fail(f"{run.what} returned history {np.round(got, 6).tolist()}{note}: with lr=0 "
                 "the model does not change, so every epoch's mean loss is the MSE between "
                 "the reconstruction of clip(clean + noise_std * N(0, 1), 0, 1) and the clean "
                 f"batch, in expectation {expect.mean:.6g} (estimated here from your model's "
                 f"parameters), give or take {expect.tolerance:.3g} (the noise's spread over "
                 f"{history.ROWS} samples, {expect.tolerance / expect.sd:.1f} sd). Epoch "
                 f"{epoch}: got {value:.6g}"
                 + (f", as if {like}." if like else "."))


# -- a short last batch, and the order of the rows (issue 18; history.py) ----------------------

@pytest.mark.points(1)
def test_training_history_weighs_each_batch_by_its_rows(request, student, setup, settings):
    run, scale, note = _lr0(request, student, setup, settings, history.SHORT)
    got = history.values(run.history, what=run.what, strict=False)
    expected = history.exact_loss(run.network, run.X, 0.0)["contract"]
    scales = history.short_scales(scale)
    for epoch, value in enumerate(got):
        if any(abs(value - s * expected) <= history.RTOL * s * expected for s in scales):
            continue
        unweighted = history.unweighted_losses(run.network, run.X, run.rows)
        like = (unweighted is not None
                and abs(value / scale - unweighted[epoch]) <= history.RTOL * unweighted[epoch])
        # the short run's last batch: a plain mean of the batch means over-weighs its rows
        last = history.SHORT_LAST_ROWS
        fail(f"{run.what} returned history {np.round(got, 6).tolist()}{note}: with lr=0 the "
             f"model does not change, so every epoch's mean loss over the {history.SHORT_ROWS} "
             f"samples is {expected:.6g} (computed here from your model's parameters). Epoch "
             f"{epoch}: got {value:.6g}"
             + (", the plain mean of the batches' mean losses" if like else "")
             + f" (tolerance: relative {history.RTOL:g}). With batch_size={history.BATCH} the "
             f"last batch has {last} rows: weigh each batch's mean loss by its number of rows "
             "(or sum the per-sample losses) and divide by the number of samples.")


@pytest.mark.points(1)
def test_rows_are_reshuffled_every_epoch(request, student, setup, settings):
    run = judge.at_lr0(request.config, student, setup, settings, history.SHORT)
    epochs = history.epoch_batches(run.rows, what=run.what)
    orders = [np.concatenate(batches) for batches in epochs]
    n = history.SHORT_ROWS
    for epoch, order in enumerate(orders):
        if sorted(order.tolist()) != list(range(n)):
            strange = sorted({int(i) for i in order if not 0 <= i < n})
            missing = sorted(set(range(n)) - set(order.tolist()))
            fail(f"{run.what}: epoch {epoch}'s minibatches do not hold each row of X once"
                 + (f" (rows of X never seen: {missing[:10]})" if missing else "")
                 + (" (rows that are not rows of X: with noise_std=0 the inputs are the clean "
                    "rows as given)" if strange else "")
                 + ": shuffle the indices 0..N-1 (a permutation), then take consecutive "
                   "slices of batch_size rows")
    for later in range(1, len(orders)):
        for earlier in range(later):
            if np.array_equal(orders[earlier], orders[later]):
                fail(f"{run.what}: epochs {earlier} and {later} visited the rows in the same "
                     f"order ({orders[later][:8].tolist()} ...): draw a new permutation at the "
                     "start of every epoch (torch.randperm(n, generator=generator) inside the "
                     "epoch loop), not once before it")
