"""The synthesize stage: ``synthesize.count`` emotion-labelled pieces, in parallel and incrementally.

Sample ``k`` of emotion ``e`` has id ``syn_<e>_<k:05d>`` and its randomness comes
from ``(seed, id)`` alone, so raising ``count`` adds pieces without changing
the existing ones. The pieces are packed in tar shards in ``raw/synthetic/``
(``midi-<digest>.tar``, and ``audio-<digest>.tar`` for the renders; members
named ``<emotion>/<id>.mid``), which persist between runs (DVC ``persist:
true``). Each member's catalogue entry keeps the key it was made under (id,
seed, generator code and library versions, renderer): a piece whose key
still matches is kept, and a shard is rewritten only when a member changed.
Workers return bytes; only the stage process writes.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import soundfile as sf

from penta_core.annotate.vocabulary import Vocabulary
from penta_core.core.errors import ConfigError, MissingTool, ParamError
from penta_core.core.io import read_json, write_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import n_jobs as resolve_jobs
from penta_core.engine.executor import parallel_map
from penta_core.engine.fingerprint import library_versions, source_digest
from penta_core.engine.incremental import cache_key, sweep
from penta_core.engine.seeding import rng_for
from penta_core.store.shards import SAMPLES_PER_SHARD, Member, ShardStore, Stored, describe
from penta_core.synth.generator import SyntheticGenerator, midi_bytes, render_audio
from penta_core.synth.rendering import find_fluidsynth
from penta_core.targets.registry import declared

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
        path = layout.index("labels_present")
        found = set(read_json(path)["labels"]) if path.exists() else set()
        chosen = [e for e in known if e in found]
        return chosen or list(known)
    unknown = [e for e in setting if e not in known]
    if unknown:
        raise ParamError(f"synthesize.emotions: no generator rules for {', '.join(unknown)} "
                         f"(known: {', '.join(known)})")
    return [e for e in known if e in setting]


def _files(sample_id: str, emotion: str, with_audio: bool) -> dict[str, tuple[str, str]]:
    """``file id -> (kind, member name)`` of the files of one piece."""
    files = {sample_id: ("midi", f"{emotion}/{sample_id}.mid")}
    if with_audio:
        files[f"{sample_id}_audio"] = ("audio", f"{emotion}/{sample_id}.wav")
    return files


def _generate_one(task: tuple[str, str, int, list[str], str]) -> dict[str, bytes]:
    """Worker: make one piece (and its audio render when asked); return each file's bytes by file id."""
    sample_id, emotion, seed, file_ids, renderer = task
    midi, _ = SyntheticGenerator().generate(emotion, rng_for(seed, sample_id))
    made = {}
    if sample_id in file_ids:
        made[sample_id] = midi_bytes(midi)
    if f"{sample_id}_audio" in file_ids:
        buffer = io.BytesIO()
        sf.write(buffer, render_audio(midi, AUDIO_RATE, renderer), AUDIO_RATE, format="WAV", subtype="PCM_16")
        made[f"{sample_id}_audio"] = buffer.getvalue()
    return made


def _entries(sample_id: str, emotion: str, vocab: Vocabulary, generation: dict[str, Any],
             stored: dict[str, Stored], folder_rel: str) -> list[dict[str, Any]]:
    label = vocab.labels[emotion]
    return [
        {
            "id": sid, **describe(stored[sid], folder_rel), "kind": kind, "origin": "synthetic",
            "label": emotion, "valence": label.valence, "arousal": label.arousal,
            "group": sample_id, "generation": generation,
        }
        for sid, kind in ((sample_id, "midi"), (f"{sample_id}_audio", "audio")) if sid in stored
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
        # A model without folder labels still gets emotion pieces: their music is what it learns from.
        target = params["dataset"]["target_model"]
        vocab = Vocabulary.load(target if declared(target).folder_labels else "emotionrecognizer",
                                params["annotate"]["vocabulary"])
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
    wanted: dict[str, list[Member]] = {"midi": [], "audio": []}
    for sid, emotion in ids:
        for file_id, (kind, name) in _files(sid, emotion, opts["render_audio"]).items():
            extra = {"renderer": renderer} if kind == "audio" else {}
            key = cache_key({**build, "id": file_id, "path": name, **extra})
            wanted[kind].append(Member(file_id, name, sid, key))
    syncs = {kind: ShardStore(folder, kind, groups_per_shard=SAMPLES_PER_SHARD[kind],
                              hashes=layout.hash_cache(folder, kind)).begin(members)
             for kind, members in wanted.items()}
    missing = [m for sync in syncs.values() for m in sync.missing]
    emotion_of = dict(ids)
    todo: dict[str, list[str]] = {}
    for member in missing:
        todo.setdefault(member.group, []).append(member.id)
    failed = {}
    kind_of = {m.id: kind for kind, members in wanted.items() for m in members}
    tasks = [(sid, emotion_of[sid], params["seed"], file_ids, opts["renderer"]) for sid, file_ids in todo.items()]
    for index, outcome in parallel_map(_generate_one, tasks, n_jobs=resolve_jobs(opts["n_jobs"]),
                                         timeout_s=120, desc="synthesize", total=len(tasks),
                                         relative_to=[layout.root], engine=params.get("engine")):
        sid = tasks[index][0]
        if outcome.ok:
            for file_id, data in outcome.value.items():
                syncs[kind_of[file_id]].put(file_id, data)
        else:
            failed[sid] = outcome.reason
            # A piece that failed keeps none of its files, as in a clean run.
            for kind, sync in syncs.items():
                sync.drop(m.id for m in wanted[kind] if m.group == sid)
    stored = {file_id: s for sync in syncs.values() for file_id, s in sync.finish().items()}
    folder.mkdir(parents=True, exist_ok=True)  # after the checks above, so a refused run writes nothing
    sweep(folder, set().union(*(sync.files() for sync in syncs.values())))
    samples = []
    folder_rel = layout.rel(folder)
    for sid, emotion in ids:
        if sid not in failed:
            plan = generator.randomize_parameters(emotion, rng_for(params["seed"], sid))
            samples += _entries(sid, emotion, vocab, plan.as_record(), stored, folder_rel)
    samples.sort(key=lambda s: s["id"])
    summary = {
        "planned": len(ids),
        "failed": len(failed),
        "per_label": {e: n for e in generator.emotions
                      if (n := sum(1 for s in samples if s["label"] == e and s["kind"] == "midi"))},
        "shards": len({s["shard"] for s in samples}),
    }
    failures = [{"id": sid, "reason": reason} for sid, reason in sorted(failed.items())]
    # What this run did (generated vs kept) is returned, not written: the index must
    # be the same bytes whether the pieces were made now or by an earlier run.
    write_json(layout.index("synthetic"), {"samples": samples, "failed": failures, "summary": summary})
    return {**summary, "generated": len(tasks) - len(failed), "reused": len(ids) - len(tasks)}
