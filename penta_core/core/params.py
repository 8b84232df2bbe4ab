"""Pipeline parameters: defaults, loading from ``params.yaml`` and validation.

Parameters are validated once, at the entry point of every stage and of the
CLI, so a wrong value fails at once with one line naming the key and the
accepted form, before any work is done.
"""
from __future__ import annotations

import copy
import difflib
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from penta_core.augment import registry
from penta_core.core.cluster import parse_address
from penta_core.core.errors import ParamError
from penta_core.recipes.registry import RECIPES, apply_recipe
from penta_core.targets import registry as target_registry

# Models a dataset can be built for today: each has a data target (penta_core/targets/registry.py).
TARGET_MODELS = tuple(target_registry.TARGETS)
# Models planned but without a data target yet; naming one fails with a message saying so.
PLANNED_TARGET_MODELS = target_registry.PLANNED

DEFAULTS: dict[str, Any] = {
    "seed": 42,
    "dataset": {
        "name": "emotion_dataset_v1",
        "target_model": "emotionrecognizer",
        "source_dir": "datasets/examples",
        "source": None,
        "sources": None,
        "recipe": None,
        "root": "datasets",
    },
    "fetch": {
        "max_total_mb": 4096.0,
        "max_files": 100000,
        "max_ratio": 200.0,
        "retries": 3,
        "timeout_s": 60.0,
    },
    "import": {
        "max_file_mb": 256.0,
        "timeout_s": 60.0,
        "max_duration_s": 7200.0,
        "silence_dbfs": -80.0,
        "n_jobs": 0,
        "verify": "stat",
        "pack": False,
        "max_clipping_share": 0.001,
        "max_dc_offset": 0.05,
        "max_edge_silence_s": 2.0,
        "edge_silence": "report",
        "channels": "keep",
        "sample_rate": None,
    },
    "annotate": {
        "vocabulary": "penta_core/annotate/vocabulary.yaml",
        "events": "annotations/events.jsonl",
        "labels": None,
    },
    "features": {
        "n_jobs": 0,
        "timeout_s": 120.0,
        "audio_sample_rate": 22050,
        "max_audio_s": 600.0,
    },
    "augment": {
        "multiplier": 3,
        "n_jobs": 0,
        "timeout_s": 120.0,
        "midi": {
            "transpose_semitones": [-5, 6],
            "duration_factor": [0.9, 1.1],
            "velocity_scale": [0.8, 1.2],
            "timing_jitter_ms": [0.0, 15.0],
            "note_dropout": [0.0, 0.1],
        },
        "audio": {
            "pitch_shift_semitones": [-2.0, 2.0],
            "speed_factor": [0.9, 1.1],
            "noise_snr_db": [20.0, 40.0],
            "gain_db": [-6.0, 3.0],
        },
    },
    "synthesize": {
        "count": 70,
        "emotions": "present",
        "n_jobs": 0,
        "render_audio": False,
        "renderer": "sine",
    },
    "families": {
        "detect": True,
        "midi_similarity": 0.5,
        "audio_similarity": 0.65,
        "n_jobs": 0,
        "timeout_s": 120.0,
    },
    "targets": {
        "n_jobs": 0,
        "timeout_s": 120.0,
        "annotations": True,
        "harmony": {
            "context_bars": 1,
            "previous_chords": 4,
        },
        "melody": {
            "window": 32,
            "hop": 16,
        },
        "groove": {
            "window_bars": 2,
            "timing_jitter": False,
        },
        "dynamics": {
            "sigma_beats": 2.0,
            "gap_beats": 1.0,
            "max_bars": 4,
            "min_velocity_std": 3.0,
        },
    },
    "split": {
        "train": 0.70,
        "val": 0.15,
        "test": 0.15,
        "strategy": "balanced",
        "group_by": None,
        "published": None,
        "families": None,
        "augmented_in_eval": False,
        "synthetic_in_eval": False,
    },
    "validate": {
        "strict": False,
        "min_balance": 0.5,
        "min_diversity": 0.5,
        "min_quality": 0.9,
        "max_no_chord_share": 0.5,
        "min_melody_coverage": 0.5,
    },
    "baseline": {
        "max_train_rows": 10000,
    },
    "export": {
        "formats": ["parquet", "webdataset"],
        "audio": "bytes",
        "shard_mb": 256.0,
        "workers_multiple": 8,
        "license": "unknown",
    },
    # Where the per-sample work of the heavy stages runs. It never changes an output, so it is no
    # DVC param of any stage and is left out of config.json (penta_core/create/structure.py).
    "engine": {
        "executor": "local",
        "scheduler": "",
        "workers": 0,
        "chunk_size": 0,
    },
}

# The parameter groups that do not decide any output: kept out of config.json.
RUNTIME_GROUPS = ("engine",)

# Formats the export stage writes (export.formats picks among them).
EXPORT_FORMATS = ("parquet", "webdataset", "lmdb")


Check = Callable[[str, Any], None]


def _fail(key: str, expected: str, value: Any) -> None:
    raise ParamError(f"params: '{key}' must be {expected}, got {value!r}")


def _int(lo: int | None = None) -> Check:
    def check(key: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or (lo is not None and value < lo):
            _fail(key, f"an integer >= {lo}" if lo is not None else "an integer", value)
    return check


def _number(lo: float | None = None, hi: float | None = None, open_lo: bool = False) -> Check:
    def check(key: str, value: Any) -> None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok and lo is not None:
            ok = value > lo if open_lo else value >= lo
        if ok and hi is not None:
            ok = value <= hi
        if not ok:
            bounds = []
            if lo is not None:
                bounds.append(f"{'>' if open_lo else '>='} {lo}")
            if hi is not None:
                bounds.append(f"<= {hi}")
            _fail(key, "a number" + (" " + " and ".join(bounds) if bounds else ""), value)
    return check


def _transform_range(kind: str, name: str) -> Check:
    def check(key: str, value: Any) -> None:
        try:
            registry.check_range(kind, name, value)
        except ValueError as err:
            raise ParamError(f"params: {err}") from None
    return check


def _bool(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        _fail(key, "true or false", value)


def _name(key: str, value: Any) -> None:
    if not (isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value)):
        _fail(key, "a folder name of letters, digits, '_', '-' or '.'", value)


def _path(key: str, value: Any) -> None:
    if not (isinstance(value, str) and value.strip()):
        _fail(key, "a non-empty path", value)


def _optional(inner: Check) -> Check:
    def check(key: str, value: Any) -> None:
        if value is not None:
            inner(key, value)
    return check


def _choice(options: tuple[str, ...]) -> Check:
    def check(key: str, value: Any) -> None:
        if value not in options:
            _fail(key, "one of " + ", ".join(options), value)
    return check


def _scheduler(key: str, value: Any) -> None:
    if value == "":
        return
    parse_address(value)


def _formats(key: str, value: Any) -> None:
    if not (isinstance(value, list) and value and all(v in EXPORT_FORMATS for v in value)):
        _fail(key, "a non-empty list of " + ", ".join(EXPORT_FORMATS), value)
    if len(set(value)) != len(value):
        _fail(key, "a list without repeats", value)


def _licence(key: str, value: Any) -> None:
    # A Hugging Face licence identifier (mit, cc-by-4.0, other, unknown, ...): it goes in the card's YAML header.
    if not (isinstance(value, str) and re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", value)):
        _fail(key, "a licence identifier such as mit, cc-by-4.0, other or unknown", value)


def _target_model(key: str, value: Any) -> None:
    if value in PLANNED_TARGET_MODELS:
        raise ParamError(f"params: '{key}' {value!r} has no data target yet; available: {', '.join(TARGET_MODELS)}")
    _choice(TARGET_MODELS)(key, value)


def _regex(key: str, value: Any) -> None:
    if not isinstance(value, str):
        _fail(key, "a regular expression with one capture group, or null", value)
    try:
        compiled = re.compile(value)
    except re.error as err:
        raise ParamError(f"params: '{key}' is not a valid regular expression ({err}): {value!r}") from None
    if compiled.groups < 1:
        _fail(key, "a regular expression with at least one capture group", value)


def _emotions(key: str, value: Any) -> None:
    if value in ("present", "all"):
        return
    if not (isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)):
        _fail(key, "'present', 'all' or a non-empty list of emotion names", value)
    if len(set(value)) != len(value):
        _fail(key, "a list without repeats", value)


# Where a source can come from; anything but a local path is downloaded and needs its sha256.
SOURCE_SCHEMES = ("http", "https", "s3", "kaggle")
DOWNLOADED_SCHEMES = SOURCE_SCHEMES
SOURCE_KEYS = ("url", "sha256", "name")
LABEL_KEYS = ("path", "sha256", "file_column", "label_column", "label_format", "valence_column", "arousal_column",
              "va_mapping")
VA_MAPPINGS = ("quadrant", "nearest")


def scheme_of(url: str) -> str | None:
    """``http``, ``https``, ``s3``, ``kaggle`` or ``None`` for a local path."""
    match = re.match(r"([a-z][a-z0-9+.-]*)://", url)
    return match.group(1) if match else None


def _sha256(key: str, value: Any) -> None:
    if not (isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value)):
        _fail(key, "64 lower-case hex digits (the sha256 of the file)", value)


def _source_entry(key: str, value: Any) -> None:
    form = "a path or URL, or a mapping with url (and sha256, name)"
    if isinstance(value, str):
        value = {"url": value}
    if not isinstance(value, dict):
        _fail(key, form, value)
    for name in value:
        if name not in SOURCE_KEYS:
            raise ParamError(f"params: unknown key '{key}.{name}'; a source takes {', '.join(SOURCE_KEYS)}")
    url = value.get("url")
    if not (isinstance(url, str) and url.strip()):
        _fail(f"{key}.url", "a local path or an http(s)://, s3:// or kaggle:// URL", url)
    scheme = scheme_of(url)
    if scheme is not None and scheme not in SOURCE_SCHEMES:
        _fail(f"{key}.url", "a local path or a URL of " + ", ".join(f"{s}://" for s in SOURCE_SCHEMES), url)
    if "sha256" in value:
        _sha256(f"{key}.sha256", value["sha256"])
    elif scheme is not None:
        raise ParamError(f"params: '{key}.sha256' is required for a downloaded source ({url}): "
                         "the sha256 of the file, so a changed upstream is never taken silently")
    if "name" in value:
        _name(f"{key}.name", value["name"])


def _source(key: str, value: Any) -> None:
    if value is not None:
        _source_entry(key, value)


def _sources(key: str, value: Any) -> None:
    if value is None:
        return
    if not (isinstance(value, list) and value):
        _fail(key, "a non-empty list of sources, or null", value)
    for i, entry in enumerate(value):
        _source_entry(f"{key}[{i}]", entry)


def _labels(key: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        _fail(key, "a mapping with path, file_column and label_column (or valence_column and arousal_column)",
              value)
    for name in value:
        if name not in LABEL_KEYS:
            raise ParamError(f"params: unknown key '{key}.{name}'; labels take {', '.join(LABEL_KEYS)}")
    _path(f"{key}.path", value.get("path"))
    if scheme_of(value["path"]) not in (None, "http", "https"):
        _fail(f"{key}.path", "a local path or an http(s):// URL", value["path"])
    if scheme_of(value["path"]) is not None and "sha256" not in value:
        raise ParamError(f"params: '{key}.sha256' is required for a downloaded labels file ({value['path']})")
    if "sha256" in value:
        _sha256(f"{key}.sha256", value["sha256"])
    if "label_format" in value and not (isinstance(value["label_format"], str) and "{}" in value["label_format"]):
        _fail(f"{key}.label_format", "a pattern with {} for the cell's value, such as q{}", value["label_format"])
    for name in ("file_column", "label_column", "valence_column", "arousal_column"):
        if name in value and not (isinstance(value[name], str) and value[name]):
            _fail(f"{key}.{name}", "a column name", value[name])
    has_va = "valence_column" in value or "arousal_column" in value
    if ("label_column" in value) == has_va:
        raise ParamError(f"params: '{key}' needs either label_column or valence_column and arousal_column")
    if has_va and not ("valence_column" in value and "arousal_column" in value):
        raise ParamError(f"params: '{key}' needs both valence_column and arousal_column")
    if "va_mapping" in value:
        _choice(VA_MAPPINGS)(f"{key}.va_mapping", value["va_mapping"])


SPLIT_NAMES = ("train", "val", "test")
PUBLISHED_KEYS = ("table", "tables", "folders", "file_column", "split_column", "values", "unlisted")
FAMILY_KEYS = ("table", "file_column", "key_columns")


def _columns(key: str, value: Any) -> None:
    ok = (isinstance(value, str) and value) or (
        isinstance(value, list) and value and all(isinstance(v, str) and v for v in value))
    if not ok:
        _fail(key, "a column name or a non-empty list of column names", value)


def _table_path(key: str, value: Any) -> None:
    if not (isinstance(value, str) and value.strip()) or scheme_of(value) is not None:
        _fail(key, "a table's path or glob below the imported folder (a local path, not a URL)", value)


def _known_keys(key: str, value: dict[str, Any], known: tuple[str, ...]) -> None:
    for name in value:
        if name not in known:
            raise ParamError(f"params: unknown key '{key}.{name}'; it takes {', '.join(known)}")


def _published(key: str, value: Any) -> None:
    if value is None:
        return
    form = "a mapping with table (and file_column, split_column), tables (split → table) or folders: true"
    if not isinstance(value, dict):
        _fail(key, form, value)
    _known_keys(key, value, PUBLISHED_KEYS)
    given = [name for name in ("table", "tables", "folders") if value.get(name) not in (None, False)]
    if len(given) != 1:
        raise ParamError(f"params: '{key}' needs exactly one of table, tables or folders, got "
                         f"{', '.join(given) or 'none'}")
    if "table" in given:
        _table_path(f"{key}.table", value["table"])
        for name in ("file_column", "split_column"):
            if name not in value:
                raise ParamError(f"params: '{key}.{name}' is required with '{key}.table'")
        if not (isinstance(value["split_column"], str) and value["split_column"]):
            _fail(f"{key}.split_column", "a column name", value["split_column"])
    if "tables" in given:
        tables = value["tables"]
        if not (isinstance(tables, dict) and tables and set(tables) <= set(SPLIT_NAMES)):
            _fail(f"{key}.tables", "a mapping of train, val, test to a table each", tables)
        for split, path in tables.items():
            _table_path(f"{key}.tables.{split}", path)
        if "file_column" not in value:
            raise ParamError(f"params: '{key}.file_column' is required with '{key}.tables'")
    if "folders" in given and value["folders"] is not True:
        _fail(f"{key}.folders", "true (a source path's folder names its split)", value["folders"])
    if "file_column" in value:
        _columns(f"{key}.file_column", value["file_column"])
    if "values" in value:
        values = value["values"]
        if not (isinstance(values, dict) and values and all(isinstance(k, str) and k for k in values)
                and all(v in SPLIT_NAMES for v in values.values())):
            _fail(f"{key}.values", "a mapping of published split names to train, val or test", values)
    if "unlisted" in value:
        _choice(("seeded", "exclude"))(f"{key}.unlisted", value["unlisted"])


def _families(key: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        _fail(key, "a mapping with table, file_column and key_columns", value)
    _known_keys(key, value, FAMILY_KEYS)
    for name in FAMILY_KEYS:
        if name not in value:
            raise ParamError(f"params: '{key}.{name}' is required")
    _table_path(f"{key}.table", value["table"])
    _columns(f"{key}.file_column", value["file_column"])
    if not (isinstance(value["key_columns"], list) and value["key_columns"]
            and all(isinstance(v, str) and v for v in value["key_columns"])):
        _fail(f"{key}.key_columns", "a non-empty list of column names", value["key_columns"])


SCHEMA: dict[str, Check] = {
    "seed": _int(0),
    "dataset.name": _name,
    "dataset.target_model": _target_model,
    "dataset.source_dir": _path,
    "dataset.source": _source,
    "dataset.sources": _sources,
    "dataset.recipe": _optional(_choice(tuple(RECIPES))),
    "fetch.max_total_mb": _number(0, open_lo=True),
    "fetch.max_files": _int(1),
    "fetch.max_ratio": _number(1),
    "fetch.retries": _int(0),
    "fetch.timeout_s": _number(0, open_lo=True),
    "dataset.root": _path,
    "import.max_file_mb": _number(0, open_lo=True),
    "import.timeout_s": _number(0, open_lo=True),
    "import.max_duration_s": _number(0, open_lo=True),
    "import.silence_dbfs": _number(-200, 0),
    "import.n_jobs": _int(0),
    "import.verify": _choice(("stat", "hash")),
    "import.pack": _bool,
    "import.max_clipping_share": _number(0, 1),
    "import.max_dc_offset": _number(0, 1),
    "import.max_edge_silence_s": _number(0),
    "import.edge_silence": _choice(("report", "trim")),
    "import.channels": _choice(("keep", "mono")),
    "import.sample_rate": _optional(_int(1000)),
    "annotate.vocabulary": _path,
    "annotate.events": _path,
    "annotate.labels": _labels,
    "features.n_jobs": _int(0),
    "features.timeout_s": _number(0, open_lo=True),
    "features.audio_sample_rate": _int(8000),
    "features.max_audio_s": _number(0, open_lo=True),
    "augment.multiplier": _int(0),
    "augment.n_jobs": _int(0),
    "augment.timeout_s": _number(0, open_lo=True),
    "synthesize.count": _int(0),
    "synthesize.emotions": _emotions,
    "synthesize.n_jobs": _int(0),
    "synthesize.render_audio": _bool,
    "synthesize.renderer": _choice(("sine", "fluidsynth")),
    "families.detect": _bool,
    "families.midi_similarity": _number(0, 1, open_lo=True),
    "families.audio_similarity": _number(0, 1, open_lo=True),
    "families.n_jobs": _int(0),
    "families.timeout_s": _number(0, open_lo=True),
    "targets.n_jobs": _int(0),
    "targets.timeout_s": _number(0, open_lo=True),
    "targets.annotations": _bool,
    "targets.harmony.context_bars": _int(1),
    "targets.harmony.previous_chords": _int(1),
    "targets.melody.window": _int(2),
    "targets.melody.hop": _int(1),
    "targets.groove.window_bars": _int(0),
    "targets.groove.timing_jitter": _bool,
    "targets.dynamics.sigma_beats": _number(0),
    "targets.dynamics.gap_beats": _number(0, open_lo=True),
    "targets.dynamics.max_bars": _int(1),
    "targets.dynamics.min_velocity_std": _number(0),
    "split.train": _number(0, 1),
    "split.val": _number(0, 1),
    "split.test": _number(0, 1),
    "split.strategy": _choice(("balanced", "hash", "published")),
    "split.group_by": _optional(_regex),
    "split.published": _published,
    "split.families": _families,
    "split.augmented_in_eval": _bool,
    "split.synthetic_in_eval": _bool,
    "validate.strict": _bool,
    "validate.min_balance": _number(0, 1),
    "validate.min_diversity": _number(0, 1),
    "validate.min_quality": _number(0, 1),
    "baseline.max_train_rows": _optional(_int(1)),
    "export.formats": _formats,
    "export.audio": _choice(("bytes", "path")),
    "export.shard_mb": _number(0, open_lo=True),
    "export.workers_multiple": _int(1),
    "export.license": _licence,
    "validate.max_no_chord_share": _number(0, 1),
    "validate.min_melody_coverage": _number(0, 1),
    "engine.executor": _choice(("local", "dask")),
    "engine.scheduler": _scheduler,
    "engine.workers": _int(0),
    "engine.chunk_size": _int(0),
}

# Keys that now go by another name: an old params.yaml fails naming the new key.
RENAMED = {
    "augment.midi.time_stretch": "augment.midi.duration_factor",
    "augment.audio.time_stretch": "augment.audio.speed_factor",
}


def schema() -> dict[str, Check]:
    """Every key's check: :data:`SCHEMA` and the range of each registered transform.

    The transform registry is read at each call: a transform declared in
    :mod:`penta_core.augment.registry` is validated with its own bounds under
    ``augment.<kind>.<name>``.
    """
    checks = dict(SCHEMA)
    for kind in registry.KINDS:
        for name in registry.declared(kind):
            checks[registry.param_key(kind, name)] = _transform_range(kind, name)
    return checks


def _dotted_keys(tree: dict[str, Any], prefix: str = "") -> list[str]:
    """Every key of ``tree`` as a dotted name, groups included (``augment``, ``augment.midi``, ...)."""
    names = []
    for key, value in tree.items():
        names.append(f"{prefix}{key}")
        if isinstance(value, dict):
            names += _dotted_keys(value, f"{prefix}{key}.")
    return names


def _unknown_key(name: str, siblings: list[str], prefix: str) -> ParamError:
    """The error for an unknown key: the closest known key, or the keys its group takes."""
    # The groups above ``name`` are known already; suggesting one of them would not help.
    known = [k for k in _dotted_keys(DEFAULTS) if not name.startswith(k + ".")]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    if close:
        return ParamError(f"params: unknown key '{name}'; did you mean '{close[0]}'?")
    where = f"'{prefix.rstrip('.')}' takes" if prefix else "the top-level keys are"
    return ParamError(f"params: unknown key '{name}'; {where} {', '.join(siblings)}")


def _merge(base: dict[str, Any], override: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        name = f"{prefix}{key}"
        if key not in merged:
            if name in RENAMED:
                raise ParamError(f"params: '{name}' was renamed '{RENAMED[name]}'")
            raise _unknown_key(name, list(merged), prefix)
        if isinstance(merged[key], dict):
            if not isinstance(value, dict):
                _fail(name, "a mapping", value)
            merged[key] = _merge(merged[key], value, name + ".")
        else:
            merged[key] = value
    return merged


def validate(params: dict[str, Any]) -> dict[str, Any]:
    """Check every parameter; raise :class:`ParamError` naming the first bad key."""
    for key, check in schema().items():
        value: Any = params
        for part in key.split("."):
            value = value[part]
        check(key, value)
    if params["dataset"]["source"] is not None and params["dataset"]["sources"] is not None:
        raise ParamError("params: set 'dataset.source' or 'dataset.sources', not both")
    names = [source_name(s) for s in source_entries(params)]
    if len(set(names)) != len(names):
        raise ParamError(f"params: 'dataset.sources' name two sources alike ({', '.join(names)}); "
                         "give each a distinct 'name'")
    split_sum = params["split"]["train"] + params["split"]["val"] + params["split"]["test"]
    if abs(split_sum - 1.0) > 1e-6:
        raise ParamError(
            "params: 'split.train' + 'split.val' + 'split.test' must sum to 1.0, "
            f"got {split_sum:g}"
        )
    if params["engine"]["scheduler"] and params["engine"]["executor"] != "dask":
        raise ParamError(f"params: 'engine.scheduler' is set ({params['engine']['scheduler']}) but "
                         f"'engine.executor' is {params['engine']['executor']!r}; set it to dask")
    if params["split"]["train"] <= 0:
        _fail("split.train", "a number > 0", params["split"]["train"])
    recipe = RECIPES.get(params["dataset"]["recipe"] or "")
    if (params["split"]["strategy"] == "published" and params["split"]["published"] is None
            and (recipe is None or recipe.published is None)):
        raise ParamError("params: 'split.strategy' published needs 'split.published' (where the split is: "
                         "a table, a table per split or folders)"
                         + (f"; recipe {recipe.name} publishes none" if recipe is not None else ""))
    return params


def source_entries(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The sources ``dataset.source`` or ``dataset.sources`` name, each as a mapping with ``url``; ``[]`` for none."""
    given = params["dataset"]["sources"] or ([params["dataset"]["source"]] if params["dataset"]["source"] else [])
    return [{"url": s} if isinstance(s, str) else dict(s) for s in given]


def source_name(entry: dict[str, Any] | str) -> str:
    """The folder a source is fetched into: its ``name``, else its file or folder name without extensions."""
    if isinstance(entry, str):
        entry = {"url": entry}
    if entry.get("name"):
        return entry["name"]
    base = re.split(r"[?#]", entry["url"])[0].rstrip("/").rpartition("/")[2] or "source"
    base = re.sub(r"(\.tar\.gz|\.tgz|\.tar|\.zip)$", "", base, flags=re.IGNORECASE)
    return re.sub(r"[^A-Za-z0-9_.-]", "_", base).lstrip(".") or "source"


def resolve(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults merged with ``overrides`` (a nested dict) and validated; a recipe fills what was left unset."""
    return validate(apply_recipe(validate(_merge(DEFAULTS, overrides or {}))))


def load_params(path: str | Path = "params.yaml", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read ``params.yaml`` (missing file: defaults), apply ``overrides``, validate.

    Parameters
    ----------
    path : path to a YAML file of parameters grouped by stage.
    overrides : nested dict applied on top, e.g. ``{"augment": {"multiplier": 5}}``.

    Returns
    -------
    dict : the complete, validated parameter tree.
    """
    path = Path(path)
    loaded: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            raise ParamError(f"params: {path} is not valid YAML: {str(err).splitlines()[0]}") from None
        if not isinstance(loaded, dict):
            raise ParamError(f"params: {path} must hold a mapping of parameter groups")
    merged = _merge(DEFAULTS, loaded)
    if overrides:
        merged = _merge(merged, overrides)
    # Checked before and after: the recipe is known, and what it filled in passes the same checks.
    return validate(apply_recipe(validate(merged)))


def n_jobs(value: int) -> int:
    """``0`` means every core."""
    import os

    return value if value > 0 else (os.cpu_count() or 1)
