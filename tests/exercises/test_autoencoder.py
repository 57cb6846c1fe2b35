"""Framework tests for the `autoencoder` exercise: the reference scores full marks, the stub zero,
and each deliberately wrong submission loses points in the check that targets its mistake.

Grading runs on the CPU profile (digits; 64-64-8 and 64-64-32): about a second per trained model.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

import numpy as np
import pytest

from tests.helpers import (ASSIGNMENTS, SOLUTIONS, SUBMISSIONS, full_marks, grade_dir,
                           lost_points, repo_config)

EX = "autoencoder"
WRONG = SUBMISSIONS / EX

pytestmark = pytest.mark.slow


def name(check: str) -> str:
    return f"{EX}: {check}"


ARCHITECTURE = {name("architecture has the contracts layers [784-128-32]"),
                name("architecture has the contracts layers [64-32-8]")}
FORWARD = name("forward is decoder of encoder")
LOSS = name("training loss decreases")
DEVICE = name("trained model stays on the device")
PCA = name("reconstructs held out images better than pca")
DENOISE = name("denoising model cleans noisy held out images")
SPARSE = name("sparse model has smaller codes")
ALL = ARCHITECTURE | {FORWARD, LOSS, DEVICE, PCA, DENOISE, SPARSE}


@pytest.fixture(scope="module")
def reports(graded):
    """Each folder graded once per session (each grading trains a few small models)."""
    return lambda folder, public_only=False: graded(folder, EX, public_only=public_only)


def test_reference_scores_full_marks_within_the_time_limit(reports):
    report = reports(SOLUTIONS)
    assert {c.name for c in report.checks} == ALL
    assert lost_points(report) == set(), [(c.name, c.output) for c in report.checks
                                          if c.score < c.max_score]
    assert full_marks(report)
    assert report.max_score == pytest.approx(30, abs=0.01)
    assert sum(c.seconds for c in report.checks) < repo_config().exercise(EX).time_limit


def test_reference_feedback_has_pictures_and_figures(reports):
    report = reports(SOLUTIONS)
    for check in (PCA, LOSS, DENOISE):
        entry = report.check(check)
        assert entry.output_format == "html"
        assert '<img alt="' in entry.output and "data:image/png;base64," in entry.output
    assert "PCA with" in report.check(PCA).output


def test_stub_scores_zero_with_every_check_listed(reports):
    stub, ref = reports(ASSIGNMENTS), reports(SOLUTIONS)
    assert stub.score == 0
    assert [c.name for c in stub.checks] == [c.name for c in ref.checks]
    assert "NotImplementedError" in stub.check(FORWARD).output


# Slips that only the public checks need to show are graded with public_only=True: one training
# instead of three keeps this module within its time budget on a shared 2-core machine.


def test_linear_decoder_loses_the_architecture_and_cannot_be_evaluated(reports):
    report = reports(WRONG / "linear_decoder", public_only=True)
    lost = lost_points(report)
    assert lost == ARCHITECTURE | {PCA}
    assert "expected Sigmoid()" in report.check(name(
        "architecture has the contracts layers [64-32-8]")).output
    assert "cannot evaluate" in report.check(PCA).output


def test_never_stepping_the_optimiser_loses_the_training_checks(reports):
    lost = lost_points(reports(WRONG / "never_steps", public_only=True))
    assert lost == {LOSS, PCA}


def test_noisy_target_loses_only_the_denoising_check(reports):
    report = reports(WRONG / "denoise_noisy_target")
    assert lost_points(report) == {DENOISE}
    assert "target must be the clean batch" in report.check(DENOISE).output


def test_ignored_l1_weight_loses_only_the_sparse_check(reports):
    report = reports(WRONG / "l1_ignored")
    assert lost_points(report) == {SPARSE}
    assert "ratio 1.000" in report.check(SPARSE).output


def test_tiny_learning_rate_fails_the_thresholds(reports):
    lost = lost_points(reports(WRONG / "lr_divided", public_only=True))
    assert lost == {LOSS, PCA}
    assert not (ARCHITECTURE | {FORWARD, DEVICE}) & lost


def test_forward_returning_its_input_loses_only_the_forward_check(reports):
    # The judge evaluates its own copy of the network, so the training checks are not fooled.
    report = reports(WRONG / "forward_returns_input", public_only=True)
    assert lost_points(report) == {FORWARD}
    assert "model(x), compared with model.decoder(model.encoder(x))" in report.check(
        FORWARD).output


def load_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("autoencoder_reference", SOLUTIONS / f"{EX}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trusted_architecture_matches_the_reference_state_dict():
    from grader.exercises.autoencoder import judge

    ours = judge.trusted_autoencoder(64, 32, 8).state_dict()
    theirs = load_reference().build_autoencoder(64, 32, 8).state_dict()
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape)
                                                           for k, v in theirs.items()}


def test_load_weights_refuses_bad_state_dicts():
    from grader.errors import CheckFailure
    from grader.exercises.autoencoder import judge

    good = {k: v.numpy() for k, v in judge.trusted_autoencoder(64, 32, 8).state_dict().items()}
    judge.load_weights(good, (64, 32, 8), what="w")
    bad_cases = {
        "missing": {k: v for k, v in good.items() if k != "decoder.2.bias"},
        "shape": {**good, "encoder.0.weight": np.zeros((32, 63), np.float32)},
        "non-finite": {**good, "decoder.0.weight": np.full((32, 8), np.nan, np.float32)},
        "dtype": {**good, "encoder.0.bias": np.zeros(32, np.int64)},
    }
    for label, state in bad_cases.items():
        with pytest.raises(CheckFailure):
            judge.load_weights(state, (64, 32, 8), what=label)
    with pytest.raises(CheckFailure, match="not a torch.nn.Module"):
        judge.load_weights(None, (64, 32, 8), what="none")


def test_mnist_profile_pipeline_on_fake_idx_files(tmp_path):
    """The cuda profile's MNIST path, run on the CPU with a tiny fake MNIST (random pixels):
    uint8 images go to the probe, 784-128-32 networks, the judge's PCA and 28x28 pictures."""
    import dataclasses

    import tests.test_data as data_tests
    from grader.exercises.autoencoder import figures, judge, probes

    rng = np.random.default_rng(0)
    arrays = (rng.integers(0, 256, (120, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, 120, dtype=np.uint8),
              rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, 30, dtype=np.uint8))
    folder = data_tests.write_mnist_folder(tmp_path, arrays, gz=True)
    settings = dataclasses.replace(repo_config().exercise(EX).settings, mnist_path=str(folder),
                                   cuda_epochs=2, cuda_max_train=100)
    setup = judge.make_setup(settings, "cuda")  # loads data only: no GPU needed
    assert setup.profile.data == "mnist" and setup.sizes == (784, 128, 32) and setup.side == 28
    assert setup.to_worker.dtype == np.uint8 and setup.to_worker.shape == (100, 784)
    assert setup.X_test.shape == (30, 784) and setup.X_test.max() <= 1.0
    assert judge.sizes_of(setup, "wide") == setup.sizes  # on MNIST "wide" is the plain model
    on_cpu = dataclasses.replace(setup, device="cpu")
    answer = probes.train(load_reference(), on_cpu.to_worker,
                          **judge.train_call(on_cpu, settings, "plain"))
    result = judge.receive(answer, on_cpu, settings, "plain")
    assert result.problem is None and len(result.history) == 2
    comparison = judge.compare_with_pca(judge.model_of(result), on_cpu)
    assert np.isfinite(comparison.ratio) and comparison.recon.shape == (30, 784)
    png = figures.image_grid([("a", setup.X_test[:3]), ("b", comparison.recon[:3])], 28)
    assert png.startswith(b"\x89PNG")


@pytest.mark.gpu
def test_cuda_profile_trains_the_reference_on_the_gpu():
    """On a CUDA machine: the reference through the probe on cuda, checked by the judge."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from grader.exercises.autoencoder import calibrate

    settings = repo_config().exercise(EX).settings
    row = calibrate.measure_seed(load_reference(), settings, "cuda", 0)
    assert row["loss last/first epoch"] <= settings.max_loss_ratio
    assert row["held-out MSE / PCA(live units)"] <= settings.max_pca_ratio
    assert row["denoising / wide plain MSE on noisy"] <= settings.max_denoise_ratio
    assert row["sparse / wide plain mean |code|"] <= settings.max_sparse_ratio
    assert row["sparse / wide plain held-out MSE"] <= settings.max_sparse_mse_ratio


@pytest.mark.gpu
def test_reference_scores_full_marks_on_cuda_through_the_sandbox():
    """On a CUDA machine: the whole grading with ``device: cuda`` (workers train on the GPU)."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    import dataclasses

    report = grade_dir(SOLUTIONS, EX, config=dataclasses.replace(repo_config(), device="cuda"))
    assert lost_points(report) == set(), [(c.name, c.output) for c in report.checks
                                          if c.score < c.max_score]
    assert "device cuda" in report.check(PCA).output
