"""The target-model interface: what a model reads, which labels it derives, how augmentations treat them.

A target model is a small declared object, one module per model
(``penta_core/targets/<model>.py`` holding ``MODEL``), found through
:mod:`penta_core.targets.registry`. It states

- what it reads and where its labels come from (:class:`~penta_core.targets.registry.Declaration`);
- which augmentations keep its labels valid and how they transform them
  (:attr:`TargetModel.augmentations`: one :class:`AugmentationRule` per
  registered transform; :meth:`TargetModel.transform_labels` applies them);
- how it derives labels and examples from one file (:meth:`TargetModel.derive`),
  when the targets stage derives them (``derives``);
- the example format it writes (:attr:`TargetModel.example_format`);
- its validation checks (:meth:`TargetModel.validation`) and its baseline
  (:meth:`TargetModel.baseline`).

``tests/test_target_contract.py`` holds every registered model to this contract.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from penta_core.augment import registry as transforms
from penta_core.core.layout import DatasetLayout
from penta_core.harmony.annotations import Annotations
from penta_core.harmony.harte import transpose
from penta_core.targets.registry import Declaration, declared

KEEPS, ADJUSTS, DROPS = "keeps", "adjusts", "drops"


@dataclass(frozen=True)
class AugmentationRule:
    """What one augmentation does to a model's labels.

    ``effect``: ``keeps`` (labels unchanged), ``adjusts`` (labels transformed
    alongside, as ``how`` says) or ``drops`` (the augmentation would make the
    labels wrong: variants drawn with it are not used by the model).
    """

    effect: str
    how: str


@dataclass(frozen=True)
class Derived:
    """What the targets stage keeps of one sample: its labels, its examples, and figures for the checks.

    Attributes
    ----------
    labels : JSON-ready labels record (the member written to the shard holds it with ``examples``).
    examples : JSON-ready examples of the model's format.
    piece_label : the sample's label for split stratification (``None``: left out of the splits).
    stats : numbers the model's validation checks add up over samples.
    """

    labels: dict[str, Any]
    examples: list[Any]
    piece_label: str | None
    stats: dict[str, Any]


def transform_annotations(annotations: Annotations, transform: dict[str, Any]) -> Annotations:
    """A parent's annotations as they hold for a variant made with ``transform`` (its manifest record).

    Transposition moves chord roots and keys; a duration factor scales every
    time; velocity, dropout and jitter (at most a few tens of ms) leave chords and keys as they are.
    """
    shift = int(transform.get("transpose_semitones", 0) or 0)
    factor = float(transform.get("duration_factor", 1.0) or 1.0)
    chords = keys = None
    if annotations.chords is not None:
        chords = [(a * factor, b * factor, transpose(label, shift)) for a, b, label in annotations.chords]
    if annotations.keys is not None:
        keys = [(a * factor, b * factor, key.transposed(shift)) for a, b, key in annotations.keys]
    return Annotations(chords, keys, list(annotations.files))


class TargetModel:
    """Base class of the target models; a subclass sets the class attributes and overrides what it needs.

    Attributes
    ----------
    name : the ``dataset.target_model`` value (its :class:`Declaration` holds the rest).
    derives : the targets stage derives its labels and examples from each file it reads.
    augmentations : ``"<kind>.<transform>"`` → :class:`AugmentationRule`, for every registered transform.
    example_format : one line saying what an example holds.
    piece_labels : the split labels the model gives a piece (a deriving model; empty: folder labels).
    """

    name: str = ""
    derives: bool = True
    piece_labels: tuple[str, ...] = ()
    augmentations: ClassVar[dict[str, AugmentationRule]] = {}
    example_format: str = ""

    @property
    def declaration(self) -> Declaration:
        return declared(self.name)

    @property
    def reads(self) -> tuple[str, ...]:
        return self.declaration.reads

    def uses_variant(self, transform: dict[str, Any], params: dict[str, Any] | None = None) -> bool:
        """Whether a variant made with ``transform`` keeps labels this model can use (``params``: the stage's)."""
        return all(self.augmentations.get(f"{kind}.{name}", AugmentationRule(KEEPS, "")).effect != DROPS
                   for kind in transforms.KINDS for name in transform if name in transforms.declared(kind))

    # -- per sample (the targets stage) ------------------------------------------------
    def source_context(self, source: str | None, source_dir: Path, params: dict[str, Any]) -> dict[str, Any] | None:
        """What the model reads beside a sample's source file (its path relative to ``source_dir``), or ``None``.

        The targets stage passes it to :meth:`derive` as ``params["source"]`` (with the
        variant's ``transform`` added for an augmented sample) and keys its cache on it.
        """
        return None

    def derive(self, data: bytes, annotations: Annotations | None, params: dict[str, Any]) -> Derived:
        """Labels and examples of one file's bytes; ``ValueError`` when the file cannot give any."""
        raise NotImplementedError(f"{self.name} derives no labels in the targets stage")

    def transform_labels(self, labels: dict[str, Any], transform: dict[str, Any]) -> dict[str, Any]:
        """The labels a variant made with ``transform`` should carry, from its parent's labels."""
        return labels

    def vocabulary(self) -> dict[str, Any] | None:
        """What the examples index into, written once beside them (``None``: nothing to write)."""
        return None

    # -- over the dataset ---------------------------------------------------------------
    def validation(self, records: dict[str, dict[str, Any]], samples: list[dict[str, Any]],
                   thresholds: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The model's own checks: metrics for ``metrics/validation.json`` and the failing checks, named.

        ``records`` are the targets stage's per-sample records (``index/targets.json``).
        """
        return {}, []

    def baseline(self, params: dict[str, Any], layout: DatasetLayout) -> list[str]:
        """Train and score the model's baseline; write ``metrics/baseline.json`` and its tables; return lines."""
        raise NotImplementedError


def baseline_line(metrics: dict[str, Any]) -> str:
    """The baseline of a model with a prediction task (next chord, next pitch; offsets and velocities) in one line."""
    if "velocity_mae" in metrics["val"]:
        return regression_line(metrics)
    unit = {"next chord": "train chord changes", "next pitch": "train windows"}.get(metrics["task"], "train examples")
    return f"baseline ({metrics['n_train']} {unit}): " + "; ".join(
        f"{name} {metrics['task']} accuracy {metrics[name]['accuracy']:.3f}, "
        f"chance {metrics[name]['chance_accuracy']:.3f} (n={metrics[name]['n']})" for name in ("val", "test"))


def regression_line(metrics: dict[str, Any]) -> str:
    """A regression baseline (groove, dynamics: mean absolute errors beside their references) in one line."""
    def part(m: dict[str, Any]) -> str:
        offset = (f"offset MAE {m['offset_mae_ms']:.2f} ms (zero {m['offset_mae_ms_zero']:.2f}), "
                  if "offset_mae_ms" in m else "")
        return (f"{offset}velocity MAE {m['velocity_mae']:.2f} (group mean {m['velocity_mae_voice_mean']:.2f}) "
                f"(n={m['n']})")

    return f"baseline ({metrics['n_train']} train notes): " + "; ".join(
        f"{name} {part(metrics[name])}" for name in ("val", "test"))


def check_augmentations(model: TargetModel) -> None:
    """Raise ``ValueError`` unless ``model`` rules on every registered transform with a known effect."""
    wanted = {f"{kind}.{name}" for kind in transforms.KINDS for name in transforms.declared(kind)}
    missing = sorted(wanted - set(model.augmentations))
    if missing:
        raise ValueError(f"target model {model.name} does not say what {', '.join(missing)} does to its labels")
    bad = sorted(k for k, rule in model.augmentations.items() if rule.effect not in (KEEPS, ADJUSTS, DROPS))
    if bad:
        raise ValueError(f"target model {model.name}: unknown effect for {', '.join(bad)}")


def load_model(name: str) -> TargetModel:
    """The ``MODEL`` of target model ``name`` (``ValueError`` for a planned or unknown name).

    The modules are imported here by name, each in its own branch, so a
    stage's import closure (and so its DVC code dependencies) includes them.
    """
    declared(name)
    if name == "emotionrecognizer":
        from penta_core.targets import emotion

        return emotion.MODEL
    if name == "harmonypredictor":
        from penta_core.targets import harmony

        return harmony.MODEL
    if name == "melodytransformer":
        from penta_core.targets import melody

        return melody.MODEL
    if name == "groovepredictor":
        from penta_core.targets import groove

        return groove.MODEL
    if name == "dynamicsengine":
        from penta_core.targets import dynamics

        return dynamics.MODEL
    raise ValueError(f"target model {name!r} is declared, but load_model does not name its module")
