"""Framework tests for the `autoencoder` exercise: the reference scores full marks, the stub zero,
and each deliberately wrong submission loses points in the check that targets its mistake.

Grading runs on the CPU profile (digits; 64-64-8 and 64-64-32): about a second per trained model.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

import numpy as np
import pytest

from tests.exercises.forgery import expect_forgery_earns_nothing
from tests.helpers import (ASSIGNMENTS, SOLUTIONS, SUBMISSIONS, full_marks, grade_dir,
                           lost_points, repo_config)

EX = "autoencoder"
WRONG = SUBMISSIONS / EX

pytestmark = pytest.mark.slow


def name(check: str) -> str:
    return f"{EX}: {check}"


def sized(check: str) -> set[str]:
    return {name(f"{check} [784-128-32]"), name(f"{check} [64-32-8]")}


ENCODER = sized("encoder computes the contracts function")
DECODER = sized("decoder computes the contracts function")
FORWARD = name("forward is decoder of encoder")
HISTORY = name("training history is the mean loss of each epoch")
LOSS = name("training loss decreases")
DEVICE = name("trained model stays on the device")
PCA = name("reconstructs held out images better than pca")
DENOISE = name("denoising model cleans noisy held out images")
SPARSE = name("sparse model has smaller codes")
SPARSE_HISTORY = name("sparse training history adds l1 weight times mean abs code")
DENOISE_HISTORY = name("denoising training history is from noisy inputs to clean targets")
WEIGHTED = name("training history weighs each batch by its rows")
RESHUFFLED = name("rows are reshuffled every epoch")
ALL = ENCODER | DECODER | {FORWARD, HISTORY, LOSS, DEVICE, PCA, DENOISE, SPARSE,
                           SPARSE_HISTORY, DENOISE_HISTORY, WEIGHTED, RESHUFFLED}
ZERO_EFFORT_SHARE = 0.10  # at most 10 % of the exercise for a submission that does nothing


@pytest.fixture(scope="module")
def reports(graded):
    """Each folder graded once per session (each grading trains a few small models)."""
    return lambda folder, public_only=False: graded(folder, EX, public_only=public_only)


def explain(report) -> list[tuple[str, str]]:
    return [(c.name, c.output[:800]) for c in report.checks if c.score < c.max_score]


def test_reference_scores_full_marks_within_the_time_limit(reports):
    report = reports(SOLUTIONS)
    assert {c.name for c in report.checks} == ALL
    assert lost_points(report) == set(), explain(report)
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
    assert "computed from your model" in report.check(LOSS).output


def test_stub_scores_zero_with_every_check_listed(reports):
    stub, ref = reports(ASSIGNMENTS), reports(SOLUTIONS)
    assert stub.score == 0
    assert [c.name for c in stub.checks] == [c.name for c in ref.checks]
    assert "NotImplementedError" in stub.check(FORWARD).output


# Correct programs spelled otherwise: named nn.Linear submodules with F.relu / torch.sigmoid
# and a DataLoader; parameters with F.linear (weights registered before biases), numpy
# shuffling and a mean of batch means; nn.Sequential halves in a class, in-place ReLUs,
# nn.MSELoss and torch's global generator.
@pytest.mark.parametrize("style", ["ok_named_submodules", "ok_functional",
                                   "ok_sequential_dataloader"])
def test_correct_variants_in_other_styles_score_full_marks(reports, style):
    report = reports(WRONG / style)
    assert lost_points(report) == set(), explain(report)
    assert full_marks(report)


@pytest.mark.parametrize("folder", ["zero_identity", "zero_zeros", "zero_constant",
                                    "zero_fake_history"])
def test_zero_effort_earns_at_most_a_tenth(reports, folder):
    report = reports(WRONG / folder)
    assert report.score <= ZERO_EFFORT_SHARE * report.max_score + 1e-9, [
        (c.name, c.score) for c in report.checks if c.score > 0]


# Forgeries: both functions stubs, and the probes replaced at import by ones that describe a
# model nobody built: all-zero weights with the constant outputs any function of them gives (the
# mean training image after "training"), huge weights "before training", the device asked for,
# a falling history, and with lr=0 the MSE of the constant 0.5. Measured on the checks as they
# were: 25 / 30 (every check but the denoising model's); now nothing.
FORGED = ["forge_zero_weights"]


@pytest.mark.parametrize("forge", FORGED)
def test_forged_probe_answers_earn_no_more_than_the_stub(reports, forge, monkeypatch):
    # the data checks alone: the forged answers fail, each where it lies
    report = expect_forgery_earns_nothing(reports(WRONG / forge), reports(ASSIGNMENTS),
                                          WRONG / forge, EX, monkeypatch)
    assert "does not hold the values the grader put into" in report.check(
        name("encoder computes the contracts function [64-32-8]")).output
    assert "hardly better than their mean image" in report.check(LOSS).output
    assert "does not hold the parameters it was given" in report.check(HISTORY).output


def test_held_out_images_are_chosen_with_a_secret_seed(tmp_path):
    """The split seed comes from the course's secret: a hash of the reference solution's bytes
    and the config's seed (only the config's seed where there is no reference), so it is the same
    on every run, differs from the config's split_seed, and changes with the reference. The
    worker gets the training part only."""
    import dataclasses

    from grader.exercises.autoencoder import judge
    from grader.fixtures import course_secret

    config = repo_config()
    settings = config.exercise(EX).settings
    secret = course_secret(config, EX)
    assert secret == course_secret(config, EX)
    without = dataclasses.replace(config, solutions=None)
    assert course_secret(without, EX) == course_secret(without, EX) != secret
    other = tmp_path / "solutions"
    other.mkdir()
    (other / f"{EX}.py").write_bytes((SOLUTIONS / f"{EX}.py").read_bytes() + b"\n# edited\n")
    assert course_secret(dataclasses.replace(config, solutions=other), EX) != secret
    split = judge.held_out_seed(secret, settings)
    assert split == judge.held_out_seed(secret, settings) and split != settings.split_seed
    setup = judge.make_setup(settings, "cpu", split_seed=split)
    public = judge.make_setup(settings, "cpu")  # what split_seed alone would give
    assert setup.split_seed == split and setup.to_worker is setup.X_train
    assert len(setup.X_test) == len(public.X_test)
    assert not np.array_equal(setup.X_test, public.X_test)


def test_zero_effort_messages_name_the_missing_layers(reports):
    report = reports(WRONG / "zero_identity")
    assert "model.encoder has no parameter of shape (32, 64)" in report.check(
        name("encoder computes the contracts function [64-32-8]")).output
    constant = reports(WRONG / "zero_constant")
    assert "never calls the Linear layers" in constant.check(
        name("encoder computes the contracts function [64-32-8]")).output


# Slips that only the public checks need to show are graded with public_only=True: one training
# instead of four keeps this module within its time budget on a shared 2-core machine.


def test_linear_decoder_loses_only_the_decoder_checks(reports):
    # The judge evaluates the function the model computes (here: no sigmoid), so the training
    # checks judge the training, and the missing sigmoid costs the decoder checks only.
    report = reports(WRONG / "linear_decoder", public_only=True)
    assert lost_points(report) == DECODER
    assert "the decoder's output is not passed through a sigmoid" in report.check(
        name("decoder computes the contracts function [64-32-8]")).output


def test_code_without_relu_loses_only_the_encoder_checks(reports):
    report = reports(WRONG / "code_without_relu", public_only=True)
    assert lost_points(report) == ENCODER
    assert "the code (the encoder's output) is not passed through a ReLU" in report.check(
        name("encoder computes the contracts function [784-128-32]")).output


# The device check is paid with the training-loss check (a model never trained is on the CPU
# too), so a training that does not work loses it as well.
def test_never_stepping_the_optimiser_loses_the_training_checks(reports):
    lost = lost_points(reports(WRONG / "never_steps", public_only=True))
    assert lost == {LOSS, PCA, DEVICE}


def test_tiny_learning_rate_fails_the_thresholds(reports):
    lost = lost_points(reports(WRONG / "lr_divided", public_only=True))
    assert lost == {LOSS, PCA, DEVICE}


def test_forward_returning_its_input_loses_only_the_forward_check(reports):
    # The judge evaluates its own copy of the network, so the training checks are not fooled.
    report = reports(WRONG / "forward_returns_input", public_only=True)
    assert lost_points(report) == {FORWARD}
    assert "model(x) differs from model.decoder(model.encoder(x))" in report.check(
        FORWARD).output


def test_history_scaled_by_the_number_of_batches_loses_only_the_history_check(reports):
    # running_loss / len(loader) over per-sample sums; the other history checks divide the
    # plain history's factor out, so the slip costs one check.
    report = reports(WRONG / "history_scaled_by_batches")
    assert lost_points(report) == {HISTORY}
    assert "32 times that" in report.check(HISTORY).output
    assert "divided by the number of batches" in report.check(HISTORY).output


def test_tensor_history_loses_only_the_history_check(reports):
    report = reports(WRONG / "history_tensor_items", public_only=True)
    assert lost_points(report) == {HISTORY}
    assert "loss.item()" in report.check(HISTORY).output


def test_noisy_target_loses_the_denoising_checks(reports):
    report = reports(WRONG / "denoise_noisy_target")
    assert lost_points(report) == {DENOISE, DENOISE_HISTORY}
    assert "target must be the clean batch" in report.check(DENOISE).output
    assert "the target is the noisy input" in report.check(DENOISE_HISTORY).output


def test_unclipped_noise_loses_only_the_denoising_history(reports):
    report = reports(WRONG / "denoise_unclipped")
    assert lost_points(report) == {DENOISE_HISTORY}
    assert "the noise is not clipped" in report.check(DENOISE_HISTORY).output


# Each wrong penalty loses the sparse history check, named for it in the message; the trained
# sparse model is also really not sparse (ignored, on the output) or collapsed (summed, no
# l1_weight: a penalty hundreds of times too strong), which the sparse quality check judges.
@pytest.mark.parametrize(("slip", "words"), [
    ("l1_ignored", "without the penalty"),
    ("l1_on_output", "the penalty on the reconstruction"),
    ("l1_summed", "summed over the batch and the code units"),
    ("l1_without_weight", "added without l1_weight"),
])
def test_wrong_sparsity_penalty_loses_the_sparse_checks(reports, slip, words):
    report = reports(WRONG / slip)
    assert lost_points(report) == {SPARSE, SPARSE_HISTORY}
    assert words in report.check(SPARSE_HISTORY).output


def load_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("autoencoder_reference", SOLUTIONS / f"{EX}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_judges_layers_match_the_reference_parameters():
    from grader.exercises.autoencoder import network

    model = load_reference().build_autoencoder(64, 32, 8)
    for half in network.HALVES:
        shapes = [tuple(p.shape) for p in getattr(model, half).parameters()]
        assert shapes == [shape for _, shape in network.slots(half, (64, 32, 8))]


def _export(model, half, inputs):
    from grader.exercises.autoencoder import probes

    return probes.export_half(model, half, inputs)


def test_identify_finds_the_function_and_says_where_it_differs():
    import torch
    from torch import nn

    from grader.errors import CheckFailure
    from grader.exercises.autoencoder import network

    sizes = (12, 7, 3)
    x = np.random.default_rng(0).random((16, 12)).astype(np.float32)
    torch.manual_seed(0)
    good = load_reference().build_autoencoder(*sizes)
    half = network.identify(_export(good, "encoder", x), "encoder", sizes, x, what="w",
                            call="enc")
    assert half.is_contract and half.order == (0, 1, 2, 3)
    # another activation is named
    good.encoder[3] = nn.Tanh()
    half = network.identify(_export(good, "encoder", x), "encoder", sizes, x, what="w",
                            call="enc")
    assert half.activations == ("ReLU", "Tanh")
    assert "the code (the encoder's output) is passed through a tanh" in half.differences()[0]
    # something outside the family: the hooks locate the layer whose input differs
    good.encoder[3] = nn.ReLU()
    good.encoder[1] = nn.Dropout(0.5)
    good.train()
    with pytest.raises(CheckFailure, match="the input of its second Linear layer"):
        network.identify(_export(good, "encoder", x), "encoder", sizes, x, what="w", call="enc")
    # wrong shapes are named with the contract's
    bad = nn.Module()
    bad.encoder = nn.Sequential(nn.Linear(12, 7), nn.ReLU(), nn.Linear(7, 4), nn.ReLU())
    with pytest.raises(CheckFailure, match=r"parameter of shape \(4, 7\).*contract has \(3, 7\)"):
        network.identify(_export(bad, "encoder", x), "encoder", sizes, x, what="w", call="enc")
    bad.encoder = nn.Sequential(nn.Linear(12, 7), nn.ReLU(), nn.Linear(7, 3), nn.ReLU(),
                                nn.BatchNorm1d(3))
    with pytest.raises(CheckFailure, match="has 6 parameters where the contract has 4"):
        network.identify(_export(bad, "encoder", x), "encoder", sizes, x, what="w", call="enc")
    with pytest.raises(CheckFailure, match="missing"):
        network.identify(_export(nn.Module(), "encoder", x), "encoder", sizes, x, what="w",
                         call="enc")


def test_identify_tries_other_orders_of_equal_shaped_parameters():
    import torch
    from torch import nn

    from grader.exercises.autoencoder import network

    sizes = (6, 6, 6)  # every weight (6, 6), every bias (6,)

    class Reversed(nn.Module):  # registers the second layer first
        def __init__(self):
            super().__init__()
            self.second = nn.Linear(6, 6)
            self.first = nn.Linear(6, 6)

        def forward(self, x):
            return torch.relu(self.second(torch.relu(self.first(x))))

    model = nn.Module()
    model.encoder = Reversed()
    x = np.random.default_rng(1).random((16, 6)).astype(np.float32)
    half = network.identify(_export(model, "encoder", x), "encoder", sizes, x, what="w",
                            call="enc")
    assert half.is_contract and half.order == (2, 3, 0, 1)


def test_parameter_list_refuses_non_float_and_non_finite():
    from grader.errors import CheckFailure
    from grader.exercises.autoencoder import network

    sizes = (6, 5, 4)
    good = [(f"p{i}", np.zeros(shape, np.float32))
            for i, (_, shape) in enumerate(network.slots("decoder", sizes))]
    network.parameter_list({"params": good}, "decoder", sizes, what="w")
    for label, bad in {"int": ("p0", np.zeros((5, 4), np.int64)),
                       "nan": ("p0", np.full((5, 4), np.nan, np.float32))}.items():
        with pytest.raises(CheckFailure):
            network.parameter_list({"params": [bad] + good[1:]}, "decoder", sizes, what=label)
    with pytest.raises(CheckFailure, match="not a torch.nn.Module"):
        network.parameter_list("not a torch.nn.Module but int", "decoder", sizes, what="w")


def test_denoising_expectation_separates_the_common_slips():
    """The judge's expectation for the lr=0 denoising history: the reference's epochs fall
    inside the tolerance, and noisy targets, no noise or unclipped noise fall outside it."""
    from grader.exercises.autoencoder import history, network

    params = history.judge_params("denoising", 0)
    net = network.Network(*(network.Half(h, tuple(params[h]), network.CONTRACT[h])
                            for h in network.HALVES))
    X = history.data(0)
    want = history.noisy_loss(net, X, history.NOISE_STD, 0)
    assert want.tolerance > 6 * want.sd / history.INFLATION
    for departure in (dict(target="noisy"), dict(clip=False)):
        # an epoch of the slip lands outside the tolerance unless it is 3 of its own sd off
        # (probability 1e-3 per epoch, and every epoch would have to be)
        other = history.noisy_loss(net, X, history.NOISE_STD, 0, **departure)
        assert abs(other.mean - want.mean) > want.tolerance + 3 * other.sd / history.INFLATION
    clean = history.exact_loss(net, X, 0.0)["contract"]
    assert abs(clean - want.mean) > 5 * want.tolerance


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
    assert result.network.encoder.is_contract and result.network.decoder.is_contract
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
    assert row["training MSE after/before"] <= settings.max_loss_ratio
    assert row["lr=0 plain/sparse history error / tol"] <= 1.0
    assert row["lr=0 denoising history error / tol"] <= 1.0
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


def test_pca_baseline_is_scikit_learns():
    """The judge's PCA (numpy SVD, no scikit-learn import) reconstructs as scikit-learn's
    PCA(svd_solver="full") does: the "better than PCA" threshold was calibrated on the latter."""
    from sklearn.decomposition import PCA

    from grader.data import load_digits_split
    from grader.exercises.autoencoder.judge import mse, pca_mse

    for seed in (0, 1, 2):
        X_train, _, X_test, _ = load_digits_split(seed=seed)
        for k in (1, 3, 8, 20):
            pca = PCA(n_components=k, svd_solver="full").fit(X_train)
            theirs = mse(pca.inverse_transform(pca.transform(X_test)), X_test)
            assert pca_mse(X_train, X_test, k) == pytest.approx(theirs, rel=1e-5)
        mean_only = mse(np.broadcast_to(X_train.mean(axis=0), X_test.shape), X_test)
        assert pca_mse(X_train, X_test, 0) == pytest.approx(mean_only, rel=1e-9)


# -- a short last batch and the order of the rows (issue 18) -----------------------------------

def test_mean_of_batch_means_loses_only_the_weighting_check(reports):
    report = reports(WRONG / "epoch_loss_unweighted_batch_means")
    assert lost_points(report) == {WEIGHTED}, explain(report)
    output = report.check(WEIGHTED).output
    assert "the plain mean of the batches' mean losses" in output
    assert "the last batch has 8 rows" in output and "weigh each batch's mean loss" in output


def test_one_permutation_for_every_epoch_loses_only_the_reshuffle_check(reports):
    report = reports(WRONG / "permutation_drawn_once")
    assert lost_points(report) == {RESHUFFLED}, explain(report)
    output = report.check(RESHUFFLED).output
    assert "epochs 0 and 1 visited the rows in the same order" in output
    assert "inside the epoch loop" in output


def test_the_short_run_separates_the_unweighted_mean_from_the_reference():
    """The margins written in history.py, on 50 seeds (history.calibrate_short_run)."""
    from grader.exercises.autoencoder import history

    found = history.calibrate_short_run(load_reference(), range(50))
    assert found["reference_worst"] <= history.RTOL / 50
    assert found["unweighted_run_min"] >= 50 * history.RTOL
    for seed in range(100):
        X = history.short_data(seed)
        assert len({row.tobytes() for row in X}) == history.SHORT_ROWS
        assert 0.0 <= X.min() and X.max() <= 1.0


def test_recorded_minibatches_are_read_as_the_students_loop_made_them():
    from grader.errors import CheckFailure
    from grader.exercises.autoencoder import history

    n, b = history.SHORT_ROWS, history.BATCH
    epoch = [np.arange(b), np.arange(b, n)]
    rows = []
    for _ in range(history.EPOCHS):  # each batch seen twice in a row (code computed twice),
        rows += [epoch[0], epoch[0], epoch[1], np.arange(n)]  # and the whole X: not a batch
    epochs = history.epoch_batches(rows, what="run")
    assert len(epochs) == history.EPOCHS and all(len(e) == 2 for e in epochs)
    with pytest.raises(CheckFailure, match="never received a minibatch"):
        history.epoch_batches([np.arange(n)] * 3, what="run")
    with pytest.raises(CheckFailure, match="every epoch visits each row of X exactly once"):
        history.epoch_batches(rows[:4], what="run")
    with pytest.raises(CheckFailure, match="could not be recorded"):
        history.epoch_batches(None, what="run")
