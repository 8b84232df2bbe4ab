"""``penta-dataset``: the seed's command line over the same steps as the DVC stages.

Examples::

    penta-dataset --create --dataset emotion_dataset_v1 --target-model emotionrecognizer
    penta-dataset --import-dir /path/to/music --dataset emotion_dataset_v1
    penta-dataset --annotate --dataset emotion_dataset_v1
    penta-dataset --all --import-dir /path/to/music --multiplier 10 --count 5000
    penta-dataset --annotate-ui --annotator ana        # the annotation page on http://127.0.0.1:8765/
"""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import Any

from penta_core.annotate_ui import command as annotate_ui_command
from penta_core.core.layout import DatasetLayout
from penta_core.core.locking import dataset_lock
from penta_core.core.params import TARGET_MODELS, load_params
from penta_core.core.stage_runner import EXPECTED_ERRORS, fail
from penta_core.create.structure import write_config

# Step → the module whose ``run(params, layout)`` performs it; imported only
# when the step runs, so a command pays for the libraries of its own steps.
STEP_MODULES: dict[str, str] = {
    "create": "penta_core.create.stage",
    "import": "penta_core.sources.stage",
    "annotate": "penta_core.annotate.stage",
    "augment": "penta_core.augment.stage",
    "synthesize": "penta_core.synth.stage",
    "features": "penta_core.features.stage",
    "families": "penta_core.families.stage",
    "manifest": "penta_core.manifest.stage",
    "splits": "penta_core.splits.stage",
    "validate": "penta_core.validation.stage",
    "baseline": "penta_core.baseline.stage",
}
Step = Callable[[dict[str, Any], DatasetLayout], list[str]]


def load_step(name: str) -> Step:
    """The ``run`` function of step ``name`` (a key of :data:`STEP_MODULES`)."""
    return importlib.import_module(STEP_MODULES[name]).run


# Flag → step, in pipeline order.
FLAG_STEPS: list[tuple[str, str]] = [
    ("create", "create"),
    ("import_dir", "import"),
    ("annotate", "annotate"),
    ("augment", "augment"),
    ("synthesize", "synthesize"),
    ("extract_features", "features"),
    ("families", "families"),
    ("splits", "splits"),
    ("validate", "validate"),
    ("baseline", "baseline"),
]
# Steps that read manifest.json: the manifest is rebuilt before them when an
# earlier step of the same run changed what it merges.
READS_MANIFEST = frozenset({"splits", "validate", "baseline"})


def plan_run(wanted: list[str], has_config: bool) -> list[str]:
    """The steps to run, in order, with ``create`` and ``manifest`` added where needed."""
    order = ([] if has_config or wanted[0] == "create" else ["create"])
    dirty = False
    for step in wanted:
        if step in READS_MANIFEST and dirty:
            order.append("manifest")
            dirty = False
        order.append(step)
        dirty = dirty or step not in READS_MANIFEST
    if dirty:
        order.append("manifest")
    return order


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="penta-dataset",
        description="Prepare a versioned music training dataset (MIDI and audio).",
        epilog="Parameters not given as flags come from ./params.yaml (or the built-in defaults).",
    )
    steps_group = parser.add_argument_group("steps (run in pipeline order)")
    steps_group.add_argument("--create", action="store_true", help="create the dataset structure and config.json")
    steps_group.add_argument("--import-dir", metavar="DIR", help="import MIDI/audio files from DIR (recursively)")
    steps_group.add_argument("--annotate", action="store_true", help="label samples from their folder names")
    steps_group.add_argument("--extract-features", action="store_true", help="extract MIDI and audio features")
    steps_group.add_argument("--augment", action="store_true", help="write augmented variants of each sample")
    steps_group.add_argument("--synthesize", action="store_true", help="generate synthetic emotion-labelled samples")
    steps_group.add_argument("--families", action="store_true",
                             help="join near-duplicate MIDI/audio (transposed, re-encoded, re-arranged) into families")
    steps_group.add_argument("--validate", action="store_true", help="score balance, diversity, quality, leakage")
    steps_group.add_argument("--splits", action="store_true", help="write leak-free train/val/test splits")
    steps_group.add_argument("--baseline", action="store_true", help="train and score the baseline classifier")
    steps_group.add_argument("--all", action="store_true", help="run every step in sequence")
    opts = parser.add_argument_group("options")
    opts.add_argument("--dataset", metavar="NAME", help="dataset name under the datasets folder (dataset.name)")
    opts.add_argument("--target-model", choices=TARGET_MODELS, help="model the labels are for (dataset.target_model)")
    opts.add_argument("--multiplier", type=int, metavar="N", help="augmented variants per sample (augment.multiplier)")
    opts.add_argument("--count", type=int, metavar="N", help="synthetic samples to generate (synthesize.count)")
    opts.add_argument("--params", default="params.yaml", metavar="FILE", help="parameter file (default: params.yaml)")
    annotate_ui_command.add_arguments(parser)
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    over: dict[str, Any] = {}
    dataset = {k: v for k, v in (("name", args.dataset), ("target_model", args.target_model),
                                 ("source_dir", args.import_dir)) if v is not None}
    if dataset:
        over["dataset"] = dataset
    if args.multiplier is not None:
        over["augment"] = {"multiplier": args.multiplier}
    if args.count is not None:
        over["synthesize"] = {"count": args.count}
    return over


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    wanted = [(flag, step) for flag, step in FLAG_STEPS if args.all or getattr(args, flag)]
    if annotate_ui_command.wanted(args):
        if wanted:
            return fail("--annotate-ui and the Label Studio flags run on their own, without pipeline steps")
        try:
            for line in annotate_ui_command.run(args, load_params(args.params, _overrides(args))):
                print(line)
        except EXPECTED_ERRORS as err:
            return fail(str(err))
        return 0
    if not wanted:
        parser.print_usage(sys.stderr)
        return fail("choose at least one step (--create, --import-dir, ..., or --all)")
    try:
        params = load_params(args.params, _overrides(args))
        layout = DatasetLayout.from_params(params)
        with dataset_lock(layout.root):
            for step in plan_run([step for _, step in wanted], layout.config.exists()):
                for line in load_step(step)(params, layout):
                    print(line)
            write_config(layout, params)
    except EXPECTED_ERRORS as err:
        return fail(str(err))
    return 0


if __name__ == "__main__":
    sys.exit(main())
