"""The pipeline's steps: the module that runs each, and what each reads and makes in the dataset folder.

A run checks its inputs against these tables before it creates, locks or
writes anything (:func:`check_inputs`), so a command that cannot succeed
leaves nothing behind: no dataset folder, no config, no lock file.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from penta_core.core.cluster import check_engine
from penta_core.core.errors import InputError, MissingInput
from penta_core.core.layout import DatasetLayout
from penta_core.targets.registry import TARGETS

# Step → the module whose ``run(params, layout)`` performs it, in pipeline order.
# Named, not imported: a command imports only the libraries of its own steps.
STEP_MODULES: dict[str, str] = {
    "create": "penta_core.create.stage",
    "fetch": "penta_core.fetch.stage",
    "import": "penta_core.sources.stage",
    "annotate": "penta_core.annotate.stage",
    "augment": "penta_core.augment.stage",
    "synthesize": "penta_core.synth.stage",
    "features": "penta_core.features.stage",
    "families": "penta_core.families.stage",
    "targets": "penta_core.targets.stage",
    "manifest": "penta_core.manifest.stage",
    "splits": "penta_core.splits.stage",
    "validate": "penta_core.validation.stage",
    "baseline": "penta_core.baseline.stage",
    "export": "penta_core.export.stage",
}

# Steps that may start a dataset folder; every other step needs one already.
STARTS_DATASET = frozenset({"create", "fetch", "import"})

_SPLIT_LISTS = tuple((f"splits/{name}.txt",) for name in ("train", "val", "test"))

# Step → what it cannot run without: per entry, paths inside the dataset folder
# of which any one will do, and the step that makes them.
NEEDS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "annotate": ((("index/imported.json",), "import"),),
    "augment": ((("index/imported.json",), "import"),),
    "features": ((("index/imported.json", "index/augmented.json", "index/synthetic.json"), "import"),),
    "targets": ((("index/imported.json",), "import"),),
    "splits": ((("manifest.json",), "manifest"),),
    "validate": ((("manifest.json",), "manifest"), *((lst, "splits") for lst in _SPLIT_LISTS)),
    "baseline": ((("manifest.json",), "manifest"), *((lst, "splits") for lst in _SPLIT_LISTS),
                 (("index/features.json",), "features")),
    "export": ((("manifest.json",), "manifest"), *((lst, "splits") for lst in _SPLIT_LISTS),
               (("index/features.json",), "features")),
}

# The baseline of a model whose examples the targets stage writes reads those, not the feature table.
_TARGET_BASELINE = (*NEEDS["baseline"][:-1], (("index/targets.json",), "targets"))


def needs(step: str, params: dict[str, Any]) -> tuple[tuple[tuple[str, ...], str], ...]:
    """What ``step`` cannot run without, for the target model ``params`` name."""
    model = TARGETS.get(params["dataset"]["target_model"])
    if step == "baseline" and model is not None and not model.folder_labels:
        return _TARGET_BASELINE
    return NEEDS.get(step, ())


# Step → the files among the needs above that it makes.
MAKES: dict[str, tuple[str, ...]] = {
    "import": ("index/imported.json",),
    "augment": ("index/augmented.json",),
    "synthesize": ("index/synthetic.json",),
    "features": ("index/features.json",),
    "targets": ("index/targets.json",),
    "manifest": ("manifest.json",),
    "splits": tuple(lst[0] for lst in _SPLIT_LISTS),
}


def step_of(module: str) -> str | None:
    """The step whose ``run`` lives in ``module``, or ``None`` for a function of no step."""
    return next((step for step, name in STEP_MODULES.items() if name == module), None)


def import_folder(params: dict[str, Any], layout: DatasetLayout) -> Path:
    """The folder the import reads: the fetched sources when ``dataset.source(s)`` names any, else ``source_dir``."""
    if params["dataset"]["source"] is not None or params["dataset"]["sources"] is not None:
        return layout.sources_dir
    return Path(params["dataset"]["source_dir"])


def check_source_dir(source_dir: str | Path) -> Path:
    """``source_dir`` as a path, after checking it is an existing folder.

    Raises
    ------
    MissingInput : the folder does not exist.
    InputError : the path is a file.
    """
    source = Path(source_dir)
    fix = "set dataset.source_dir (or --import-dir) to a folder of MIDI or audio files"
    if not source.exists():
        raise MissingInput(f"source folder '{source}' does not exist; {fix}")
    if not source.is_dir():
        raise InputError(f"source folder '{source}' is a file, not a folder; {fix}")
    return source


def check_inputs(plan: list[str], layout: DatasetLayout, params: dict[str, Any],
                 names: Mapping[str, str], dataset_option: str) -> None:
    """Refuse, before anything is written, a run whose steps would fail for want of their inputs.

    A file that an earlier step of ``plan`` makes counts as present.

    Parameters
    ----------
    plan : steps in the order they will run.
    layout : the dataset the run writes.
    params : validated params (``dataset.source_dir`` is checked when ``import`` runs).
    names : step → how the user runs it (``--splits``, ``the splits stage``), for the message.
    dataset_option : how the user names the dataset (``--dataset``, ``dataset.name``).

    Raises
    ------
    MissingInput, InputError : one line naming what is missing and the step to run first.
    ClusterError : a step sends work to a Dask scheduler (``engine.scheduler``) that does not answer.
    """
    check_engine(params, plan)
    present = {p for wanted in (*NEEDS.values(), _TARGET_BASELINE) for paths, _ in wanted for p in paths
               if layout.abs(p).exists()}
    has_folder = layout.root.is_dir()
    for step in plan:
        if step == "import":
            if (import_folder(params, layout) == layout.sources_dir and not layout.sources_dir.is_dir()
                    and "fetch" not in plan):
                raise MissingInput(f"'{layout.sources_dir}' does not exist; the import reads the sources "
                                   "dataset.source(s) names: run the fetch stage first "
                                   "(dvc repro, or penta-dataset --fetch)")
            if "fetch" not in plan:
                check_source_dir(import_folder(params, layout))
        for paths, producer in needs(step, params):
            if not present.intersection(paths):
                raise _missing(layout, names[step], paths[0], names[producer], dataset_option)
        if not has_folder and step not in STARTS_DATASET:
            raise _missing(layout, names[step], None, names["create"], dataset_option)
        present.update(MAKES.get(step, ()))
        has_folder = has_folder or step in STARTS_DATASET


def _missing(layout: DatasetLayout, step: str, path: str | None, producer: str, dataset_option: str) -> MissingInput:
    if not layout.root.is_dir():
        what = f"one with {path}" if path else "one"
        return MissingInput(f"no dataset at '{layout.root}'; {step} needs {what}: run {producer} first, "
                            f"or check {dataset_option} and the current folder")
    return MissingInput(f"'{layout.abs(path)}' does not exist; {step} needs it: run {producer} first")
