"""The synthesize stage: ``synthesize.count`` emotion-labelled pieces, in parallel and incrementally.

Sample ``k`` of emotion ``e`` has id ``syn_<e>_<k:05d>`` and its randomness comes
from ``(seed, id)`` alone, so raising ``count`` adds pieces without changing
the existing ones. ``raw/synthetic/`` persists between runs (DVC
``persist: true``); its ``_cache.json`` (:mod:`penta_core.engine.incremental`)
records per file the key it was made under (id, seed, generator code and
library versions, renderer) and its sha256: a piece whose files still match
is kept, not regenerated.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import soundfile as sf

from penta_core.annotate.vocabulary import Vocabulary
from penta_core.core.errors import ConfigError, MissingTool, ParamError
from penta_core.core.io import atomic_write_bytes, read_json, sha256_bytes, write_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import n_jobs as resolve_jobs
from penta_core.engine.fingerprint import library_versions, source_digest
from penta_core.engine.incremental import OutputStore, cache_key
from penta_core.engine.parallel import supervised_map
from penta_core.engine.seeding import rng_for
from penta_core.synth.generator import SyntheticGenerator, midi_bytes, render_audio
from penta_core.synth.rendering import find_fluidsynth

GENERATOR_MODULES = ("generator", "profiles", "roman", "rendering")
AUDIO_RATE = 22050


def plan_ids(count: int, emotions: list[str]) -> list[tuple[str, str]]:
    """``(sample id, emotion)`` for ``count`` pieces spread evenly across ``emotions``."""
    if count == 0:
        return []
    if count < len(emotions):
        raise ParamError(
            f"synthesize.count must be 0 or at least {len(emotions)} (one per emotion: "
            f"{', '.join(emotions)}), got {count}"
        )
    ids = []
    for i, emotion in enumerate(emotions):
        share = count // len(emotions) + (1 if i < count % len(emotions) else 0)
        ids += [(f"syn_{emotion}_{k:05d}", emotion) for k in range(1, share + 1)]
    return ids


def generator_fingerprint() -> str:
    """Hash of the generator's source and the libraries that write its bytes.

    Part of every piece's cache key: any change to the rules regenerates
    every piece instead of keeping ones the old rules made.
    """
    versions = library_versions(("pretty_midi", "mido", "numpy", "soundfile"))
    return source_digest([f"penta_core.synth.{m}" for m in GENERATOR_MODULES] + ["penta_core.engine.seeding"]) + \
        "".join(f" {k}={v}" for k, v in sorted(versions.items()))


def renderer_fingerprint(renderer: str) -> str:
    """What decides a render's samples: the renderer, and for FluidSynth its version and SoundFont."""
    if renderer == "sine":
        return "sine"
    found = find_fluidsynth()
    if found is None:
        raise MissingTool("synthesize.renderer is fluidsynth, but FluidSynth with a General MIDI SoundFont is not "
                         "installed (apt-get install fluidsynth fluid-soundfont-gm, or set PENTA_SOUNDFONT)")
    program, soundfont = found
    import subprocess

    version = subprocess.run([program, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return f"fluidsynth {version.strip()} {Path(soundfont).name} {Path(soundfont).stat().st_size}"


def choose_emotions(setting: str | list[str], known: list[str], layout: DatasetLayout) -> list[str]:
    """The emotions to synthesize, in the generator's order.

    ``present`` picks the labels the imported data holds, so synthesis adds
    to the classes a model will be evaluated on instead of inventing new
    ones; with no labelled imports it falls back to every emotion.
    """
    if setting == "all":
        return list(known)
    if setting == "present":
        path = layout.index("annotated")
        found = {a["label"] for a in read_json(path)["annotations"].values()} if path.exists() else set()
        chosen = [e for e in known if e in found]
        return chosen or list(known)
    unknown = [e for e in setting if e not in known]
    if unknown:
        raise ParamError(f"synthesize.emotions: no generator rules for {', '.join(unknown)} "
                         f"(known: {', '.join(known)})")
    return [e for e in known if e in setting]


def _files(sample_id: str, emotion: str, with_audio: bool) -> dict[str, str]:
    """``sample id -> path relative to raw/synthetic`` of the files of one piece."""
    files = {sample_id: f"{emotion}/{sample_id}.mid"}
    if with_audio:
        files[f"{sample_id}_audio"] = f"{emotion}/{sample_id}.wav"
    return files


def _generate_one(task: tuple[str, str, int, str, bool, str]) -> dict[str, str]:
    """Worker: write one piece (and its audio render) below ``folder``; return each file's sha256."""
    sample_id, emotion, seed, folder, with_audio, renderer = task
    midi, _ = SyntheticGenerator().generate(emotion, rng_for(seed, sample_id))
    payloads = [midi_bytes(midi)]
    if with_audio:
        buffer = io.BytesIO()
        sf.write(buffer, render_audio(midi, AUDIO_RATE, renderer), AUDIO_RATE, format="WAV", subtype="PCM_16")
        payloads.append(buffer.getvalue())
    written = {}
    for (file_id, rel), data in zip(_files(sample_id, emotion, with_audio).items(), payloads):
        atomic_write_bytes(Path(folder) / rel, data)
        written[file_id] = sha256_bytes(data)
    return written


def _entries(layout: DatasetLayout, sample_id: str, emotion: str, vocab: Vocabulary,
             generation: dict[str, Any], with_audio: bool, sha: dict[str, str]) -> list[dict[str, Any]]:
    label = vocab.labels[emotion]
    base = layout.raw_synthetic / emotion / f"{sample_id}.mid"
    kinds = [("midi", base, sample_id)]
    if with_audio:
        kinds.append(("audio", base.with_suffix(".wav"), f"{sample_id}_audio"))
    return [
        {
            "id": sid, "path": layout.rel(path), "kind": kind, "origin": "synthetic",
            "label": emotion, "valence": label.valence, "arousal": label.arousal,
            "group": sample_id, "sha256": sha[sid], "generation": generation,
        }
        for kind, path, sid in kinds
    ]


def synthesize(layout: DatasetLayout, params: dict[str, Any]) -> dict[str, Any]:
    """Generate or reuse every planned piece; write ``index/synthetic.json``; return its summary.

    Parameters
    ----------
    layout : the dataset being built.
    params : validated params; uses ``seed``, ``synthesize.*`` and ``dataset.target_model``.

    Raises
    ------
    ConfigError : the vocabulary lacks a label for an emotion the generator makes.
    ParamError : ``synthesize.count`` or ``synthesize.emotions`` cannot be planned.
    MissingTool : ``synthesize.renderer`` is fluidsynth and FluidSynth is not installed.
    """
    opts = params["synthesize"]
    folder = layout.raw_synthetic
    generator = SyntheticGenerator()
    ids: list[tuple[str, str]] = []
    vocab = None
    if opts["count"]:
        vocab = Vocabulary.load(params["dataset"]["target_model"], params["annotate"]["vocabulary"])
        missing = [e for e in generator.emotions if e not in vocab.labels]
        if missing:
            raise ConfigError(
                f"synthesize: the vocabulary of '{params['dataset']['target_model']}' has no label for "
                f"{', '.join(missing)}; synthesis needs the emotion labels (or set synthesize.count: 0)"
            )
        emotions = choose_emotions(opts["emotions"], generator.emotions, layout)
        ids = plan_ids(opts["count"], emotions)
    build = {"seed": params["seed"], "generator": generator_fingerprint()}
    renderer = renderer_fingerprint(opts["renderer"]) if opts["render_audio"] else None
    folder.mkdir(parents=True, exist_ok=True)  # after the checks above, so a refused run writes nothing
    store = OutputStore(folder, about="synthesize stage cache: a piece is kept while its key and sha256 match")
    keys = {}
    todo = []
    for sid, emotion in ids:
        files = _files(sid, emotion, opts["render_audio"])
        for file_id, rel in files.items():
            keys[file_id] = cache_key({**build, "id": file_id, "path": rel,
                                       **({"renderer": renderer} if file_id != sid else {})})
        if any(store.reusable(file_id, keys[file_id], folder / rel) is None for file_id, rel in files.items()):
            todo.append((sid, emotion))
    failed = {}
    tasks = ((sid, e, params["seed"], str(folder), opts["render_audio"], opts["renderer"]) for sid, e in todo)
    with store:
        for index, outcome in supervised_map(_generate_one, tasks, n_jobs=resolve_jobs(opts["n_jobs"]),
                                             timeout_s=120, desc="synthesize", total=len(todo),
                                             relative_to=[layout.root]):
            if outcome.ok:
                for file_id, sha in outcome.value.items():
                    store.put(file_id, keys[file_id], sha)
            else:
                failed[todo[index][0]] = outcome.reason
    made = {sid: _files(sid, emotion, opts["render_audio"]) for sid, emotion in ids if sid not in failed}
    store.finish(file_id for files in made.values() for file_id in files)
    store.sweep(rel for files in made.values() for rel in files.values())
    sha = {file_id: record["sha256"] for file_id, record in store.records.items()}
    samples = []
    for sid, emotion in ids:
        if sid not in failed:
            plan = generator.randomize_parameters(emotion, rng_for(params["seed"], sid))
            samples += _entries(layout, sid, emotion, vocab, plan.as_record(), opts["render_audio"], sha)
    samples.sort(key=lambda s: s["id"])
    summary = {
        "planned": len(ids),
        "failed": len(failed),
        "per_label": {e: n for e in generator.emotions
                      if (n := sum(1 for s in samples if s["label"] == e and s["kind"] == "midi"))},
    }
    failures = [{"id": sid, "reason": reason} for sid, reason in sorted(failed.items())]
    # What this run did (generated vs kept) is returned, not written: the index must
    # be the same bytes whether the pieces were made now or by an earlier run.
    write_json(layout.index("synthetic"), {"samples": samples, "failed": failures, "summary": summary})
    return {**summary, "generated": len(todo) - len(failed), "reused": len(ids) - len(todo)}
