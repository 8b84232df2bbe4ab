"""The transform base class and the chain of a kind, built from the registry.

A transform follows the audiomentations pattern: its constructor takes the
``[min, max]`` range of its parameter and validates it against the
parameter's registered :class:`~.registry.Bounds`; ``randomize_parameters``
draws one variant's values from a :class:`numpy.random.Generator` passed in
and keeps them in ``.parameters``; ``apply`` applies exactly those values.
A concrete subclass names its ``kind`` and ``name``, which must be declared
in :mod:`.registry`; defining it makes it the implementation of that name.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from penta_core.augment.registry import declared, param_key
from penta_core.core.params import DEFAULTS, RENAMED

# kind -> name -> class, filled as the transform modules define their classes.
IMPLEMENTATIONS: dict[str, dict[str, type[Transform]]] = {}


class Transform:
    """Base class: a registered parameter, its validated range and the last draw.

    Parameters
    ----------
    minimum, maximum : the range of the parameter, checked against its bounds.

    Attributes
    ----------
    low, high : the validated range.
    parameters : the values drawn by ``randomize_parameters``; ``parameters[name]``
        is the value recorded in the manifest.
    """

    kind: ClassVar[str] = ""
    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            return  # an intermediate base such as MIDITransform
        if cls.name not in declared(cls.kind):
            raise TypeError(f"{cls.__name__}: '{param_key(cls.kind, cls.name)}' is not declared in "
                            "penta_core/augment/registry.py")
        IMPLEMENTATIONS.setdefault(cls.kind, {})[cls.name] = cls

    def __init__(self, minimum: float, maximum: float) -> None:
        self.low, self.high = declared(self.kind)[self.name].check(self.key(), (minimum, maximum))
        self.parameters: dict[str, Any] = {}

    @classmethod
    def key(cls) -> str:
        """The params key of this transform, e.g. ``augment.audio.gain_db``."""
        return param_key(cls.kind, cls.name)

    def record(self) -> Any:
        """The value applied by the last draw, as recorded in the manifest."""
        return self.parameters[self.name]


def build_chain(kind: str, ranges: dict[str, Sequence[float]]) -> list[Transform]:
    """One transform per registered name of ``kind``, in the registry's order.

    Parameters
    ----------
    kind : ``"midi"`` or ``"audio"``.
    ranges : ``name -> [min, max]``, as under ``augment.<kind>`` in ``params.yaml``;
        a name left out takes its default range.

    Returns
    -------
    list of Transform : the chain, ready for ``randomize_parameters`` and ``apply``.

    Raises
    ------
    ValueError : a name that is not a registered transform of ``kind``, or a
        range outside its bounds (the message names the key).
    """
    names = declared(kind)
    for name in sorted(set(ranges) - set(names)):
        key = param_key(kind, name)
        if key in RENAMED:
            raise ValueError(f"'{key}' was renamed '{RENAMED[key]}'")
        raise ValueError(f"'{key}' is not a registered transform (known: {', '.join(names)})")
    defaults = DEFAULTS["augment"][kind]
    chain = []
    for name, bounds in names.items():
        value = ranges[name] if name in ranges else defaults[name]
        implementation = IMPLEMENTATIONS.get(kind, {}).get(name)
        if implementation is None:
            raise LookupError(f"'{param_key(kind, name)}' has no transform class")
        chain.append(implementation(*bounds.check(param_key(kind, name), value)))
    return chain
