"""Hidden checks for `backprop`: inputs students do not see, the reference as oracle.

- a deeper network (L = 4) and a batch of one, against the reference's ``mlp_loss``;
- training a network with two hidden layers (a different budget than the public check), so a
  trainer hard-wired to one hidden layer fails;
- ``train_mlp`` is a function of its seed, as the contract says.
"""

from __future__ import annotations

import pytest

from grader.data import make_spirals
from grader.exercises.backprop import oracle, validate
from grader.exercises.backprop.training import expect_spiral_accuracy, held_out_seed
from grader.expect import expect_array, expect_type, fail

pytestmark = pytest.mark.visibility("after_due_date")

TOL = 1e-7  # float64 against the reference; its own worst error against torch is ~1e-15


@pytest.mark.points(2)
def test_mlp_loss_matches_reference_on_a_deeper_network(student, reference, rng):
    sizes = [6, 7, 5, 4, 3]
    for n, reg in ((1, 0.05), (9, 0.3)):
        params = oracle.random_params(rng, sizes)
        X, y = rng.normal(size=(n, sizes[0])), rng.integers(0, sizes[-1], n)
        what = f"mlp_loss(L=4 layers of widths {sizes}, N={n}, reg={reg})"
        loss, grads = validate.expect_pair(student.mlp_loss(params, X, y, reg=reg), what=what,
                                         names="(loss, grads)")
        expected_loss, expected_grads = reference.mlp_loss(params, X, y, reg=reg)
        validate.expect_loss_close(loss, expected_loss, what=f"{what}: loss", rtol=1e-10)
        expect_type(grads, dict, what=f"{what}: grads")
        for key in validate.layer_keys(4):
            if key not in grads:
                fail(f"{what}: grads has no key {key!r}; expected the keys {list(params)}")
            validate.expect_param_gradient(grads, expected_grads, key, tol=TOL, what=what,
                                         reference="expected")


@pytest.mark.points(3)
def test_train_mlp_with_two_hidden_layers_classifies_held_out_spirals(student, settings, seed,
                                                                       secret_seed, feedback):
    expect_spiral_accuracy(student, settings, seed=seed, hidden_sizes=settings.deep_hidden_sizes,
                           learning_rate=settings.deep_learning_rate, feedback=feedback,
                           test_seed=held_out_seed(secret_seed, seed))


@pytest.mark.points(1)
@pytest.mark.gated_by("test_train_mlp_classifies_held_out_spirals")
def test_train_mlp_is_reproducible_from_its_seed(student, seed):
    X, y = make_spirals(30, seed=seed)
    kwargs = dict(hidden_sizes=(8,), num_classes=3, epochs=2, learning_rate=0.1, batch_size=16,
                  reg=0.0, seed=seed % 2**31)
    what = "train_mlp(X of shape (90, 2), y, hidden_sizes=(8,), epochs=2, ...) called twice"
    first = validate.expect_params(student.train_mlp(X, y, **kwargs), [2, 8, 3], what=what)
    second = validate.expect_params(student.train_mlp(X, y, **kwargs), [2, 8, 3], what=what)
    for key in first:
        expect_array(second[key], first[key], rtol=0.0, atol=0.0,
                     what=f"{what} with the same seed: params[{key!r}] of the second call "
                     "(seed every random choice from `seed`, e.g. np.random.default_rng(seed))")
