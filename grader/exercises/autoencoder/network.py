"""The judge's side of "judge behaviour, not spelling" for `autoencoder`: which function do the
student's ``.encoder`` and ``.decoder`` compute? Runs in the judge only.

The worker exports each half's parameters (``half.named_parameters()``, in order) and the half's
outputs on inputs the judge chose. The judge

1. assigns the parameters to the contract's slots by shape (weight and bias of each of the two
   ``Linear`` layers; among parameters of equal shape, in the student's order first, then the
   other orders),
2. builds its **own** ``Linear -> activation -> Linear -> activation`` from them (torch modules
   defined here, never the student's code) and compares its outputs with the student's: first
   with the contract's activations, then with the other common ones (so that the check can say
   "the code is not passed through a ReLU" instead of "differs"),
3. returns the matching :class:`Half`, or fails with a message naming the half, the layer and,
   where the student's modules allow it (forward hooks on ``Linear``-like modules), the layer
   whose input or output differs.

A :class:`Half` that computes something other than the contract (say, no sigmoid) still lets
the quality checks evaluate what the student trained: the judge evaluates the function the
student's model computes, rebuilt from the student's parameters, and only the encoder/decoder
checks say that it differs from the contract.
"""

from __future__ import annotations

import itertools
import collections
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from grader.expect import expect_array, fail, short, type_name

HALVES = ("encoder", "decoder")

# Activations the judge tries, the contract's first. name -> (module factory, words)
ACTIVATIONS: dict[str, tuple[Any, str]] = {
    "ReLU": (nn.ReLU, "a ReLU"),
    "Sigmoid": (nn.Sigmoid, "a sigmoid"),
    "none": (nn.Identity, "no activation"),
    "Tanh": (nn.Tanh, "a tanh"),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.01), "a leaky ReLU"),
    "ELU": (nn.ELU, "an ELU"),
    "GELU": (nn.GELU, "a GELU"),
    "Softplus": (nn.Softplus, "a softplus"),
}
CONTRACT = {"encoder": ("ReLU", "ReLU"), "decoder": ("ReLU", "Sigmoid")}
# Where each activation sits, as a student reads it.
POSITIONS = {"encoder": ("the output of the encoder's first Linear layer",
                         "the code (the encoder's output)"),
             "decoder": ("the output of the decoder's first Linear layer",
                         "the decoder's output")}
ORDINAL = ("first", "second")

# Outputs match when |got - expected| <= ATOL * max(1, max|expected|) + RTOL * |expected|.
# The judge computes in float64 from the student's float32 parameters; a float32 forward pass
# of these sizes is off by about 1e-6 relative, a different activation by 1e-3 or more (a leaky
# ReLU's 0.01 slope on a negative pre-activation of about 0.3, through the next layer).
RTOL, ATOL = 1e-4, 1e-5
MAX_ASSIGNMENTS = 24  # orders of equal-shaped parameters tried (2 x 2 in practice)


def dims(half: str, sizes: Sequence[int]) -> tuple[int, int, int]:
    """(input, hidden, output) features of ``half`` for ``sizes = (input, hidden, code)``."""
    n_in, n_hidden, n_code = sizes
    return (n_in, n_hidden, n_code) if half == "encoder" else (n_code, n_hidden, n_in)


def slots(half: str, sizes: Sequence[int]) -> list[tuple[str, tuple[int, ...]]]:
    """The contract's parameters of ``half``: (words, shape), in ``nn.Sequential`` order."""
    a, b, c = dims(half, sizes)
    return [(f"the weight of its first Linear layer, Linear({a}, {b})", (b, a)),
            (f"the bias of its first Linear layer, Linear({a}, {b})", (b,)),
            (f"the weight of its second Linear layer, Linear({b}, {c})", (c, b)),
            (f"the bias of its second Linear layer, Linear({b}, {c})", (c,))]


def layers_text(half: str, sizes: Sequence[int], activations: Sequence[str] | None = None) -> str:
    a, b, c = dims(half, sizes)
    acts = [("no activation" if act == "none" else act)
            for act in (activations or CONTRACT[half])]
    return f"Linear({a}, {b}), {acts[0]}, Linear({b}, {c}), {acts[1]}"


@dataclass(frozen=True)
class Half:
    """One half as the judge rebuilt it: parameters in the contract's slot order (float32) and
    the activations it computes."""

    name: str
    params: tuple[np.ndarray, ...]  # weight 1, bias 1, weight 2, bias 2
    activations: tuple[str, str]
    order: tuple[int, ...] = (0, 1, 2, 3)  # slot -> index in the student's parameter list

    @property
    def is_contract(self) -> bool:
        return self.activations == CONTRACT[self.name]

    def module(self, dtype: torch.dtype = torch.float32) -> nn.Sequential:
        w1, b1, w2, b2 = self.params
        first, second = nn.Linear(w1.shape[1], w1.shape[0]), nn.Linear(w2.shape[1], w2.shape[0])
        with torch.no_grad():
            for layer, w, b in ((first, w1, b1), (second, w2, b2)):
                layer.weight.copy_(torch.from_numpy(np.asarray(w, np.float32)))
                layer.bias.copy_(torch.from_numpy(np.asarray(b, np.float32)))
        act1, act2 = (ACTIVATIONS[a][0]() for a in self.activations)
        return nn.Sequential(first, act1, second, act2).to(dtype).eval()

    def in_slots(self, student_params: Sequence[Any], *, what: str) -> Half:
        """The same half with other values of the student's parameters (e.g. before training),
        put in the slots found for these: ``student_params`` in the student's order."""
        values = [np.asarray(p[1] if isinstance(p, (list, tuple)) else p) for p in student_params]
        if len(values) != len(self.params) or any(
                values[i].shape != ref.shape for i, ref in zip(self.order, self.params)):
            fail(f"{what}: model.{self.name}'s parameters changed shape during training")
        return Half(self.name, tuple(np.asarray(values[i], np.float32) for i in self.order),
                    self.activations, self.order)

    def differences(self) -> list[str]:
        """What differs from the contract, in words (empty when it is the contract)."""
        out = []
        for pos, got, want in zip(POSITIONS[self.name], self.activations, CONTRACT[self.name]):
            if got == want:
                continue
            if got == "none":
                out.append(f"{pos} is not passed through {ACTIVATIONS[want][1]}")
            else:
                out.append(f"{pos} is passed through {ACTIVATIONS[got][1]} where the contract "
                           f"has {ACTIVATIONS[want][1]}")
        return out


@dataclass(frozen=True)
class Network:
    """Both halves; ``module()`` is the judge's model: ``decoder(encoder(x))``."""

    encoder: Half
    decoder: Half

    def module(self, dtype: torch.dtype = torch.float32) -> nn.Module:
        return nn.Sequential(collections.OrderedDict(encoder=self.encoder.module(dtype),
                                         decoder=self.decoder.module(dtype))).eval()

    @property
    def params(self) -> dict[str, tuple[np.ndarray, ...]]:
        return {"encoder": self.encoder.params, "decoder": self.decoder.params}


_FUNCTIONS = {"ReLU": torch.relu, "Sigmoid": torch.sigmoid, "none": lambda t: t,
              "Tanh": torch.tanh, "LeakyReLU": lambda t: nn.functional.leaky_relu(t, 0.01),
              "ELU": nn.functional.elu, "GELU": nn.functional.gelu,
              "Softplus": nn.functional.softplus}


@contextmanager
def one_thread() -> Iterator[None]:
    """Torch on one thread for the judge's small matrix products (restored afterwards): with
    the default thread pool a (64, 784) x (784, 128) product took 14 ms instead of 2 ms on a
    busy 2-core machine, and the judge runs a few thousand of them when nothing matches."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run(half: Half, inputs: np.ndarray) -> np.ndarray:
    """``half`` on ``inputs`` in float64 (the same function as ``half.module()``)."""
    w1, b1, w2, b2 = (torch.from_numpy(np.asarray(p, np.float64)) for p in half.params)
    act1, act2 = (_FUNCTIONS[a] for a in half.activations)
    with torch.no_grad(), one_thread():
        x = torch.from_numpy(np.asarray(inputs, np.float64))
        return act2(nn.functional.linear(act1(nn.functional.linear(x, w1, b1)), w2, b2)).numpy()


def matches(got: np.ndarray, expected: np.ndarray) -> bool:
    got = np.asarray(got, np.float64)
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    return bool(np.all(np.abs(got - expected) <= ATOL * scale + RTOL * np.abs(expected)))


# -- the parameters ----------------------------------------------------------------------------


def parameter_list(export: Any, half: str, sizes: Sequence[int], *,
                   what: str) -> list[tuple[str, np.ndarray]]:
    """The exported ``(name, array)`` pairs of ``half``, validated: float, finite, shapes and
    count matching the contract's (in some order)."""
    if isinstance(export, str):
        fail(f"{what}: model.{half} is {export}")
    if not isinstance(export, dict) or not isinstance(export.get("params"), list):
        fail(f"{what}: the parameters of model.{half} could not be read: {short(export, 120)}")
    pairs = []
    for item in export["params"]:
        name, value = (item if isinstance(item, (list, tuple)) and len(item) == 2
                       else ("?", item))
        if torch.is_tensor(value):
            value = value.numpy()
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            fail(f"{what}: model.{half} parameter {name!r}: expected a float tensor, got "
                 f"{type_name(value)}: {short(value, 80)}")
        if not np.all(np.isfinite(value)):
            fail(f"{what}: model.{half} parameter {name!r} holds "
                 f"{int((~np.isfinite(value)).sum())} non-finite value(s) (NaN or inf)")
        pairs.append((str(name), value))
    want = slots(half, sizes)
    listing = (f"\n  the contract's model.{half}: {layers_text(half, sizes)}, parameters of "
               f"shapes {', '.join(str(s) for _, s in want)}"
               f"\n  your model.{half}: parameters "
               + (", ".join(f"{n} {tuple(v.shape)}" for n, v in pairs) or "(none)"))
    free = list(range(len(pairs)))
    for words, shape in want:
        hit = next((i for i in free if tuple(pairs[i][1].shape) == shape), None)
        if hit is None:
            odd = next((pairs[i] for i in free
                        if tuple(pairs[i][1].shape) not in {s for _, s in want}), None)
            if odd is not None:
                fail(f"{what}: model.{half} has a parameter of shape {tuple(odd[1].shape)} "
                     f"({odd[0]}) where the contract has {shape} ({words})" + listing)
            fail(f"{what}: model.{half} has no parameter of shape {shape} ({words})" + listing)
        free.remove(hit)
    if free:
        extra = ", ".join(f"{pairs[i][0]} {tuple(pairs[i][1].shape)}" for i in free)
        fail(f"{what}: model.{half} has {len(pairs)} parameters where the contract has "
             f"{len(want)}: unexpected {extra}" + listing)
    return pairs


def assignments(pairs: list[tuple[str, np.ndarray]], half: str,
                sizes: Sequence[int]) -> list[tuple[int, ...]]:
    """Ways to put the student's parameters in the contract's slots (indices into ``pairs``,
    one per slot): by shape; among equal shapes the student's order first."""
    want = [shape for _, shape in slots(half, sizes)]
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, (_, value) in enumerate(pairs):
        groups.setdefault(tuple(value.shape), []).append(i)
    per_shape = {shape: list(itertools.permutations(members)) for shape, members in groups.items()}
    out = []
    for combo in itertools.product(*per_shape.values()):
        chosen = dict(zip(per_shape, combo))
        used = {shape: 0 for shape in chosen}
        slot_of = []
        for shape in want:
            slot_of.append(chosen[shape][used[shape]])
            used[shape] += 1
        out.append(tuple(slot_of))
        if len(out) >= MAX_ASSIGNMENTS:
            break
    return out


# -- which function does a half compute? -------------------------------------------------------


def identify(export: Any, half: str, sizes: Sequence[int], inputs: np.ndarray, *,
             what: str, call: str) -> Half:
    """The :class:`Half` whose output on ``inputs`` matches the student's ``model.<half>``
    output in ``export``, or a failure saying where it differs. ``call`` names the student's
    call for messages, e.g. ``"model.encoder(x)"``."""
    pairs = parameter_list(export, half, sizes, what=what)
    n_out = dims(half, sizes)[2]
    got = expect_array(export.get("out"), shape=(len(inputs), n_out), dtype="float",
                       what=f"{what}: {call}")
    got = np.asarray(got, np.float64)
    orders = assignments(pairs, half, sizes)
    combos = [CONTRACT[half]] + [c for c in itertools.product(ACTIVATIONS, repeat=2)
                                 if c != CONTRACT[half]]
    for acts in combos:
        for order in orders:
            candidate = Half(half, tuple(np.asarray(pairs[i][1], np.float32) for i in order),
                             acts, order)
            if matches(got, run(candidate, inputs)):
                return candidate
    first = Half(half, tuple(np.asarray(pairs[i][1], np.float32) for i in orders[0]),
                 CONTRACT[half])
    fail(f"{what}: {call} is not {layers_text(half, sizes)} computed with the parameters "
         f"your model.{half} holds: " + locate(export, first, inputs, got, call=call))


def locate(export: dict, half: Half, inputs: np.ndarray, got: np.ndarray, *, call: str) -> str:
    """Where the student's half departs from the contract's, as far as the export shows."""
    expected = run(half, inputs)
    calls = export.get("calls")
    words = POSITIONS[half.name]
    if isinstance(calls, list) and len(calls) == 2 and all(
            isinstance(c, (list, tuple)) and len(c) == 3 for c in calls):
        w1, b1, w2, b2 = (np.asarray(p, np.float64) for p in half.params)
        layer_in = np.asarray(inputs, np.float64)
        for k, ((name, seen_in, seen_out), (w, b)) in enumerate(zip(calls, ((w1, b1), (w2, b2)))):
            ordinal = ORDINAL[k]
            if (not isinstance(seen_in, np.ndarray) or seen_in.shape != layer_in.shape
                    or not matches(seen_in, layer_in)):
                source = "the input x" if k == 0 else (
                    f"{ACTIVATIONS[half.activations[0]][1].removeprefix('a ')} of the first "
                    "Linear layer's output")
                return (f"the input of its {ordinal} Linear layer ({name}) is not {source}"
                        + worst(seen_in, layer_in))
            linear = np.asarray(seen_in, np.float64) @ w.T + b
            if (not isinstance(seen_out, np.ndarray) or seen_out.shape != linear.shape
                    or not matches(seen_out, linear)):
                return (f"the output of its {ordinal} Linear layer ({name}) is not "
                        "input @ weight.T + bias" + worst(seen_out, linear))
            act = ACTIVATIONS[half.activations[k]][0]()
            with torch.no_grad():
                layer_in = act(torch.from_numpy(linear)).numpy()
        return (f"both Linear layers compute what they should, but {words[1]} is not "
                f"{ACTIVATIONS[half.activations[1]][1].removeprefix('a ')} of the second "
                "layer's output" + worst(got, layer_in))
    if (isinstance(calls, list) and not calls and isinstance(export.get("linear_modules"), int)
            and export["linear_modules"] > 0):
        return (f"{call} never calls the Linear layers that model.{half.name} holds"
                + worst(got, expected))
    return (f"{call} differs from what those layers compute" + worst(got, expected)
            + f" (is anything other than these layers in model.{half.name}, or are layers "
            "applied in another order?)")


def worst(got: Any, expected: np.ndarray) -> str:
    if not isinstance(got, np.ndarray) or got.shape != expected.shape:
        return (f" (got {type_name(got)} of shape {getattr(got, 'shape', None)}, expected shape "
                f"{expected.shape})")
    err = np.abs(np.asarray(got, np.float64) - expected)
    idx = np.unravel_index(int(np.argmax(np.where(np.isnan(err), np.inf, err))), err.shape)
    return (f"; at index {tuple(int(i) for i in idx)} got {float(got[idx]):.6g}, expected "
            f"{float(expected[idx]):.6g}")


def expect_holds(found: Half, values: Sequence[np.ndarray], sizes: Sequence[int], *,
                 what: str) -> None:
    """``found`` (identified from what the worker sent) holds exactly the judge's ``values`` in
    the contract's slots: the worker was asked to load them, so any other parameters are not
    the model the judge asked about (or a made-up answer)."""
    for (words, _), got, want in zip(slots(found.name, sizes), found.params, values):
        if not np.array_equal(np.asarray(got, np.float32), np.asarray(want, np.float32)):
            fail(f"{what}: model.{found.name} does not hold the values the grader put into "
                 f"{words}: each Linear layer's weight and bias must be parameters of "
                 f"model.{found.name} (nn.Linear, or nn.Parameter), used as they are")


def random_params(half: str, sizes: Sequence[int], rng: np.random.Generator,
                  gain: float = 1.0) -> tuple[np.ndarray, ...]:
    """Judge-chosen parameters in slot order: N(0, gain^2 / fan_in) weights, N(0, 0.1^2) biases."""
    out = []
    for _, shape in slots(half, sizes):
        if len(shape) == 2:
            out.append((gain / np.sqrt(shape[1]) * rng.standard_normal(shape)).astype(np.float32))
        else:
            out.append((0.1 * rng.standard_normal(shape)).astype(np.float32))
    return tuple(out)


def rebuild(export: Any, sizes: tuple[int, int, int], inputs: dict[str, np.ndarray], *,
            what: str) -> Network:
    """The judge's copy of an exported model (both halves identified on ``inputs``)."""
    if not isinstance(export, dict):
        fail(f"{what}: the model could not be examined: {short(export, 120)}")
    halves = {}
    for half in HALVES:
        call = f"model.{half}({'x' if half == 'encoder' else 'code'})"
        halves[half] = identify(export.get(half), half, sizes, inputs[half],
                                        what=what, call=call)
    return Network(halves["encoder"], halves["decoder"])


def before_training(after: Network, before: Any, *, what: str) -> Network:
    """The rebuilt function with the exported parameters from before training."""
    if not isinstance(before, dict) or not all(isinstance(before.get(h), list)
                                               for h in HALVES):
        fail(f"{what}: the model's parameters before training could not be read")
    return Network(after.encoder.in_slots(before["encoder"], what=what),
                   after.decoder.in_slots(before["decoder"], what=what))
