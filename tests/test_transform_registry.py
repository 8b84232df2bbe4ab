"""The transform registry: one contract over every registered transform, and the registry as the only list."""
from __future__ import annotations

import numpy as np
import pytest
import yaml
from helpers import REPO

from penta_core.augment import registry
from penta_core.augment.audio import AudioAugmenter
from penta_core.augment.midi import MIDIAugmenter, MIDITransform
from penta_core.augment.registry import Bounds
from penta_core.augment.transform import IMPLEMENTATIONS
from penta_core.core.params import DEFAULTS, ParamError, resolve

AUGMENTERS = {"midi": MIDIAugmenter, "audio": AudioAugmenter}
REGISTERED = [(kind, name) for kind in registry.KINDS for name in registry.declared(kind)]
IDS = [registry.param_key(kind, name) for kind, name in REGISTERED]


def _override(kind: str, name: str, value) -> dict:
    return {"augment": {kind: {name: value}}}


def _inside(bounds: Bounds) -> tuple[float, float]:
    """Two distinct values inside the bounds, the lower first."""
    span = bounds.hi - bounds.lo
    low, high = bounds.lo + span / 4, bounds.hi - span / 4
    return (round(low), round(high)) if bounds.integer else (low, high)


def _outside(bounds: Bounds) -> list[float]:
    """Values just beyond each end (the end itself when it is open)."""
    return [bounds.lo if bounds.open_lo else bounds.lo - 1, bounds.hi if bounds.open_hi else bounds.hi + 1]


# -- the contract every registered transform meets -------------------------------
@pytest.mark.parametrize("kind, name", REGISTERED, ids=IDS)
def test_every_registered_transform_has_a_valid_default_in_defaults_and_params_yaml(kind, name):
    shipped = yaml.safe_load((REPO / "params.yaml").read_text())["augment"][kind]
    assert name in shipped and name in DEFAULTS["augment"][kind]
    registry.check_range(kind, name, DEFAULTS["augment"][kind][name])


@pytest.mark.parametrize("kind", registry.KINDS)
def test_params_hold_no_transform_range_the_registry_does_not_declare(kind):
    assert list(DEFAULTS["augment"][kind]) and set(DEFAULTS["augment"][kind]) == set(registry.declared(kind))


@pytest.mark.parametrize("kind, name", REGISTERED, ids=IDS)
def test_every_registered_transform_has_a_class_of_its_kind_and_name(kind, name):
    cls = IMPLEMENTATIONS[kind][name]
    assert (cls.kind, cls.name, cls.key()) == (kind, name, registry.param_key(kind, name))


@pytest.mark.parametrize("kind, name", REGISTERED, ids=IDS)
def test_min_above_max_is_refused_by_the_class_and_by_params_naming_the_key(kind, name):
    low, high = _inside(registry.declared(kind)[name])
    message = rf"'augment\.{kind}\.{name}' must be a \[min, max\] pair with min <= max"
    with pytest.raises(ValueError, match=message):
        IMPLEMENTATIONS[kind][name](high, low)
    with pytest.raises(ParamError, match=message):
        resolve(_override(kind, name, [high, low]))


@pytest.mark.parametrize("kind, name", REGISTERED, ids=IDS)
def test_values_beyond_the_bounds_are_refused_by_the_class_and_by_params_naming_the_key(kind, name):
    bounds = registry.declared(kind)[name]
    low, high = _inside(bounds)
    below, above = _outside(bounds)
    message = rf"'augment\.{kind}\.{name}' must be a \[min, max\] pair of .* within"
    for value in ([below, high], [low, above]):
        with pytest.raises(ValueError, match=message):
            IMPLEMENTATIONS[kind][name](*value)
        with pytest.raises(ParamError, match=message):
            resolve(_override(kind, name, value))


@pytest.mark.parametrize("kind, name", REGISTERED, ids=IDS)
def test_params_and_the_class_accept_exactly_the_same_ranges(kind, name):
    bounds = registry.declared(kind)[name]
    candidates = {bounds.lo, bounds.hi, bounds.lo - 0.5, bounds.hi + 0.5, *_inside(bounds), 0.5, 1, 1.5}
    for low in sorted(candidates):
        for high in sorted(candidates):
            try:
                IMPLEMENTATIONS[kind][name](low, high)
                by_class = True
            except ValueError:
                by_class = False
            try:
                resolve(_override(kind, name, [low, high]))
                by_params = True
            except ParamError:
                by_params = False
            assert by_class == by_params, (low, high)


@pytest.mark.parametrize("kind", registry.KINDS)
def test_from_params_builds_every_registered_transform_in_registry_order(kind):
    chain = AUGMENTERS[kind].from_params(DEFAULTS["augment"][kind]).transforms
    assert [t.name for t in chain] == list(registry.declared(kind))
    assert all(type(t) is IMPLEMENTATIONS[kind][t.name] for t in chain)


@pytest.mark.parametrize("kind", registry.KINDS)
def test_from_params_gives_each_transform_its_range(kind):
    ranges = {name: list(_inside(bounds)) for name, bounds in registry.declared(kind).items()}
    chain = AUGMENTERS[kind].from_params(ranges).transforms
    assert {t.name: [t.low, t.high] for t in chain} == ranges


# -- the registry is the only list ----------------------------------------------
@pytest.fixture
def dummy_declared(monkeypatch):
    """A MIDI transform ``dummy`` declared in the registry with a default in DEFAULTS."""
    monkeypatch.setitem(registry.TRANSFORMS, "midi", {**registry.TRANSFORMS["midi"], "dummy": Bounds(0, 1)})
    monkeypatch.setitem(DEFAULTS["augment"], "midi", {**DEFAULTS["augment"]["midi"], "dummy": [0.0, 0.5]})
    monkeypatch.setitem(IMPLEMENTATIONS, "midi", dict(IMPLEMENTATIONS["midi"]))


def test_a_transform_declared_in_the_registry_is_validated_by_params(dummy_declared):
    assert resolve(_override("midi", "dummy", [0.25, 1.0]))["augment"]["midi"]["dummy"] == [0.25, 1.0]
    with pytest.raises(ParamError, match=r"'augment\.midi\.dummy' must be .* within \[0, 1\], got \[0.2, 2\]"):
        resolve(_override("midi", "dummy", [0.2, 2]))


def test_a_class_for_a_declared_transform_joins_the_chain_and_the_record(dummy_declared):
    class Dummy(MIDITransform):
        name = "dummy"

        def randomize_parameters(self, piece, rng):
            self.parameters = {self.name: float(rng.uniform(self.low, self.high))}

        def apply(self, piece):
            return piece

    augmenter = MIDIAugmenter.from_params(resolve(_override("midi", "dummy", [0.25, 0.25]))["augment"]["midi"])
    assert isinstance(augmenter.transforms[-1], Dummy)
    midi = (REPO / "datasets" / "examples" / "happy").glob("*.mid")
    _, record = augmenter.augment_bytes(next(midi).read_bytes(), np.random.default_rng(0))
    assert record["dummy"] == 0.25


def test_a_class_for_an_undeclared_transform_is_refused_naming_the_key():
    with pytest.raises(TypeError, match=r"'augment\.midi\.undeclared' is not declared"):
        class Undeclared(MIDITransform):
            name = "undeclared"


def test_an_augmenter_refuses_an_unknown_transform_naming_the_key():
    with pytest.raises(ValueError, match=r"'augment\.audio\.reverb' is not a registered transform"):
        AudioAugmenter(reverb=(0, 1))


@pytest.mark.parametrize("old, new", [("augment.midi.time_stretch", "augment.midi.duration_factor"),
                                      ("augment.audio.time_stretch", "augment.audio.speed_factor")])
def test_an_augmenter_given_a_renamed_transform_names_the_new_key(old, new):
    kind = old.split(".")[1]
    with pytest.raises(ValueError, match=rf"'{old}' was renamed '{new}'"):
        AUGMENTERS[kind](time_stretch=(1, 1))


# -- Bounds -------------------------------------------------------------------------
def test_an_open_end_excludes_the_bound_itself():
    bounds = Bounds(0, 4, open_lo=True)
    assert bounds.check("k", [0.001, 4]) == (0.001, 4.0)
    with pytest.raises(ValueError, match=r"'k' must be a \[min, max\] pair of numbers within \(0, 4\], got \[0, 1\]"):
        bounds.check("k", [0, 1])


def test_integer_bounds_accept_whole_floats_and_return_ints():
    low, high = Bounds(-24, 24, integer=True).check("k", (-2.0, 3))
    assert (low, high) == (-2, 3) and type(low) is int and type(high) is int


@pytest.mark.parametrize("value", [[True, 1], [float("nan"), 1], [0, float("inf")], ["0", 1], "01", [0, 1, 2], 1])
def test_bounds_refuse_anything_but_a_pair_of_finite_numbers(value):
    with pytest.raises(ValueError, match=r"^'k' must be a \[min, max\] pair"):
        Bounds(-10, 10).check("k", value)
