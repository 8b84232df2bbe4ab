"""The registry of target models: each one declared once, by name.

``dataset.target_model`` names one of :data:`TARGETS`. A declaration says
where the model's code lives (one module per model, holding ``MODEL``, a
:class:`~penta_core.targets.model.TargetModel`), what it reads and where its
labels come from. Declarations only, no model code: parameter validation
reads this module, so every stage imports it, while the models themselves
are dependencies of the stages that use them (targets, validate, baseline).

To add a target model: declare it below, write its module (a subclass of
``TargetModel`` as ``MODEL``), and ``tests/test_target_contract.py`` runs
it over the embedded example and the fixtures with every other model.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Declaration:
    """What the pipeline must know of a target model before loading its code.

    Attributes
    ----------
    name : the ``dataset.target_model`` value.
    module : dotted name of the module holding ``MODEL``.
    reads : the sample kinds it learns from (``midi``, ``audio``).
    folder_labels : its label comes from folder names through the vocabulary (the annotate
        stage); otherwise the targets stage derives it from the data and annotation files.
    summary : one line for people.
    """

    name: str
    module: str
    reads: tuple[str, ...]
    folder_labels: bool
    summary: str


TARGETS: dict[str, Declaration] = {
    "emotionrecognizer": Declaration(
        "emotionrecognizer", "penta_core.targets.emotion", ("midi", "audio"), True,
        "an emotion label per piece (folder names), learnt from the feature table"),
    "harmonypredictor": Declaration(
        "harmonypredictor", "penta_core.targets.harmony", ("midi",), False,
        "melody context, key and the previous 4 chords -> the next chord"),
    "melodytransformer": Declaration(
        "melodytransformer", "penta_core.targets.melody", ("midi",), False,
        "32 melody notes with harmony and key context -> the next note"),
    "groovepredictor": Declaration(
        "groovepredictor", "penta_core.targets.groove", ("midi",), False,
        "note position, tempo and style -> timing offset in ms and velocity adjustment"),
    "dynamicsengine": Declaration(
        "dynamicsengine", "penta_core.targets.dynamics", ("midi",), False,
        "note velocity, position and context -> velocity curve, attack, release, expression (0-1)"),
}

# Named in the original project, without a data target yet.
PLANNED: tuple[str, ...] = ()


def declared(name: str) -> Declaration:
    """The declaration of target model ``name``.

    Raises
    ------
    ValueError : ``name`` is planned but not built, or unknown; the message lists the available ones.
    """
    if name in TARGETS:
        return TARGETS[name]
    if name in PLANNED:
        raise ValueError(f"target model {name!r} has no data target yet; available: {', '.join(TARGETS)}")
    raise ValueError(f"unknown target model {name!r}; available: {', '.join(TARGETS)}")
