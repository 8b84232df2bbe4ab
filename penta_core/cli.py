"""``penta-dataset``: the command line over the same steps as the DVC stages.

Examples::

    penta-dataset --create --dataset emotion_dataset_v1 --target-model emotionrecognizer
    penta-dataset --import-dir /path/to/music --dataset emotion_dataset_v1
    penta-dataset --annotate --dataset emotion_dataset_v1
    penta-dataset --all --import-dir /path/to/music --multiplier 10 --count 5000
    penta-dataset --annotate-ui --annotator ana        # the annotation page on http://127.0.0.1:8765/
    penta-dataset --materialize test out/              # the test split as plain .mid/.wav files
    penta-dataset --export                             # export/: Parquet, WebDataset shards, dataset card
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
from penta_core.core.stage_runner import fail, guarded
from penta_core.core.steps import STEP_MODULES, check_inputs
from penta_core.create.structure import write_config
from penta_core.store import command as materialize_command
from penta_core.versions import command as versions_command

Step = Callable[[dict[str, Any], DatasetLayout], list[str]]


def load_step(name: str) -> Step:
    """The ``run`` function of step ``name`` (a key of :data:`STEP_MODULES`), imported only now.

    A command therefore pays for the libraries of its own steps only.
    """
    return importlib.import_module(STEP_MODULES[name]).run


# Flag → step, in pipeline order.
FLAG_STEPS: list[tuple[str, str]] = [
    ("create", "create"),
    ("fetch", "fetch"),
    ("import_dir", "import"),
    ("annotate", "annotate"),
    ("augment", "augment"),
    ("synthesize", "synthesize"),
    ("extract_features", "features"),
    ("families", "families"),
    ("targets", "targets"),
    ("splits", "splits"),
    ("validate", "validate"),
    ("baseline", "baseline"),
    ("export", "export"),
]
# Step → the flag that runs it, as messages name it. The manifest is rebuilt
# after any step that changes what it merges, so importing is what makes it.
STEP_FLAGS: dict[str, str] = {
    "create": "--create",
    "fetch": "--fetch",
    "import": "--import-dir DIR (or --fetch)",
    "annotate": "--annotate",
    "augment": "--augment",
    "synthesize": "--synthesize",
    "features": "--extract-features",
    "families": "--families",
    "targets": "--targets",
    "manifest": "--import-dir DIR",
    "splits": "--splits",
    "validate": "--validate",
    "baseline": "--baseline",
    "export": "--export",
}
# Steps that read manifest.json: the manifest is rebuilt before them when an
# earlier step of the same run changed what it merges.
READS_MANIFEST = frozenset({"splits", "validate", "baseline", "export"})


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

# Commands that run on their own, not as pipeline steps: each module offers
# add_arguments(parser), wanted(args) and run(args, params) -> lines.
STANDALONE = [
    (annotate_ui_command, "--annotate-ui and the Label Studio flags"),
    (versions_command, "--diff and --json"),
    (materialize_command, "--materialize"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="penta-dataset",
        description="Prepare a versioned music training dataset (MIDI and audio).",
        epilog="Parameters not given as flags come from ./params.yaml (or the built-in defaults).",
    )
    steps_group = parser.add_argument_group("steps (run in pipeline order)")
    steps_group.add_argument("--create", action="store_true", help="create the dataset structure and config.json")
    steps_group.add_argument("--fetch", action="store_true",
                             help="download, verify and extract dataset.source(s) from params.yaml, then import them")
    steps_group.add_argument("--import-dir", metavar="DIR", help="import MIDI/audio files from DIR (recursively)")
    steps_group.add_argument("--annotate", action="store_true", help="label samples from their folder names")
    steps_group.add_argument("--extract-features", action="store_true", help="extract MIDI and audio features")
    steps_group.add_argument("--augment", action="store_true", help="write augmented variants of each sample")
    steps_group.add_argument("--synthesize", action="store_true", help="generate synthetic emotion-labelled samples")
    steps_group.add_argument("--families", action="store_true",
                             help="join near-duplicate MIDI/audio (transposed, re-encoded, re-arranged) into families")
    steps_group.add_argument("--targets", action="store_true",
                             help="labels and examples of the target model (chords, melody, groove, dynamics) "
                                  "for every sample it reads")
    steps_group.add_argument("--validate", action="store_true", help="score balance, diversity, quality, leakage")
    steps_group.add_argument("--splits", action="store_true", help="write leak-free train/val/test splits")
    steps_group.add_argument("--baseline", action="store_true", help="train and score the baseline classifier")
    steps_group.add_argument("--export", action="store_true",
                             help="write each split as Parquet and WebDataset shards (export.formats) "
                                  "with a dataset card")
    steps_group.add_argument("--all", action="store_true", help="run every step in sequence")
    opts = parser.add_argument_group("options")
    opts.add_argument("--dataset", metavar="NAME", help="dataset name under the datasets folder (dataset.name)")
    # No argparse choices: a planned model gets the one-line message of the
    # parameter check, which says it has no data target yet.
    opts.add_argument("--target-model", metavar="MODEL",
                      help=f"model the labels are for (dataset.target_model): {', '.join(TARGET_MODELS)}")
    opts.add_argument("--multiplier", type=int, metavar="N", help="augmented variants per sample (augment.multiplier)")
    opts.add_argument("--count", type=int, metavar="N", help="synthetic samples to generate (synthesize.count)")
    opts.add_argument("--params", default="params.yaml", metavar="FILE", help="parameter file (default: params.yaml)")
    for command, _ in STANDALONE:
        command.add_arguments(parser)
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
    """Run ``penta-dataset`` with ``argv``; return the exit status (1: a user error, 130: Ctrl-C).

    Every step's inputs are checked before the dataset folder is created or
    locked, so a command that cannot succeed writes nothing.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    wanted = [(flag, step) for flag, step in FLAG_STEPS if args.all or getattr(args, flag)]
    for command, flags in STANDALONE:
        if command.wanted(args):
            if wanted:
                return fail(f"{flags} run on their own, without pipeline steps")

            def standalone(command=command) -> int:
                for line in command.run(args, load_params(args.params, _overrides(args))):
                    print(line)
                return 0
            return guarded(standalone)
    if not wanted:
        parser.print_usage(sys.stderr)
        return fail("choose at least one step (--create, --import-dir, ..., or --all)")

    def body() -> int:
        params = load_params(args.params, _overrides(args))
        layout = DatasetLayout.from_params(params)
        steps = [step for _, step in wanted]
        named = params["dataset"]["source"] is not None or params["dataset"]["sources"] is not None
        if args.import_dir is not None and named:
            return fail("--import-dir imports a folder, but the params name dataset.source(s): "
                        "use --fetch to import those, or remove them to import the folder")
        if args.all and not named:
            steps.remove("fetch")  # nothing to fetch: the import reads dataset.source_dir
        if "fetch" in steps and "import" not in steps:
            steps.insert(steps.index("fetch") + 1, "import")
        plan = plan_run(steps, layout.config.exists())
        check_inputs(plan, layout, params, STEP_FLAGS, "--dataset")
        with dataset_lock(layout.root):
            for step in plan:
                for line in load_step(step)(params, layout):
                    print(line)
            write_config(layout, params)
        return 0
    return guarded(body)


if __name__ == "__main__":
    sys.exit(main())
