"""Label vocabulary: folder names and synonyms mapped to labels with valence/arousal."""
from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from penta_core.core.errors import ConfigError

# The shipped vocabulary, as params.yaml names it from the project folder. Run
# from anywhere else, that relative path falls back to the installed copy.
DEFAULT_VOCABULARY = "penta_core/annotate/vocabulary.yaml"


@dataclass(frozen=True)
class Label:
    name: str
    valence: float
    arousal: float


def normalise(word: str) -> str:
    """Case, spaces, hyphens and underscores do not matter: ``Q-1`` == ``q1``."""
    return re.sub(r"[\s_\-]+", "", word.strip().lower())


class Vocabulary:
    """Looks up labels by folder name.

    Example
    -------
    >>> vocab = Vocabulary.load("emotionrecognizer")
    >>> vocab.lookup("Joy").name
    'happy'
    """

    def __init__(self, labels: dict[str, Label], words: dict[str, str]):
        self.labels = labels
        self._words = words

    @classmethod
    def load(cls, target_model: str, path: str | Path | None = None) -> Vocabulary:
        """Labels of ``target_model`` from the YAML at ``path`` (``None``: the shipped vocabulary).

        Raises
        ------
        ConfigError : the file is missing, is not YAML of the documented shape, or has no
            labels for ``target_model``.
        """
        if path is None or (Path(path).as_posix() == DEFAULT_VOCABULARY and not Path(path).is_file()):
            text = resources.files("penta_core.annotate").joinpath("vocabulary.yaml").read_text(encoding="utf-8")
            where = "the shipped vocabulary"
        else:
            if not Path(path).is_file():
                raise ConfigError(f"annotate.vocabulary: file '{path}' does not exist")
            text = Path(path).read_text(encoding="utf-8")
            where = str(path)
        try:
            tree = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{where} is not valid YAML: {str(err).splitlines()[0]}") from None
        if not isinstance(tree, dict):
            raise ConfigError(f"{where} must map target models to their labels")
        if target_model not in tree:
            raise ConfigError(
                f"{where} has no labels for target model '{target_model}' "
                f"(it has: {', '.join(sorted(tree)) or 'none'}); set annotate.vocabulary"
            )
        return cls.from_mapping(tree[target_model], where)

    @classmethod
    def from_mapping(cls, mapping: dict, where: str = "vocabulary") -> Vocabulary:
        """Labels from one target model's block (label → valence, arousal, synonyms); ``where`` names it in errors."""
        labels: dict[str, Label] = {}
        words: dict[str, str] = {}
        if not isinstance(mapping, dict):
            raise ConfigError(f"{where}: the labels must be a mapping of label name to valence, arousal, synonyms")
        for name, spec in mapping.items():
            spec = spec or {}
            if not isinstance(spec, dict):
                raise ConfigError(f"{where}: label '{name}' must map to valence, arousal and synonyms")
            try:
                valence, arousal = float(spec.get("valence", 0.0)), float(spec.get("arousal", 0.0))
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: label '{name}' needs numeric valence and arousal") from None
            if not (-1 <= valence <= 1 and -1 <= arousal <= 1):
                raise ConfigError(f"{where}: label '{name}' valence/arousal must lie in [-1, 1]")
            labels[name] = Label(name, valence, arousal)
            for word in [name, *(spec.get("synonyms") or [])]:
                key = normalise(str(word))
                if key in words and words[key] != name:
                    raise ConfigError(f"{where}: '{word}' names both '{words[key]}' and '{name}'")
                words[key] = name
        return cls(labels, words)

    def lookup(self, word: str) -> Label | None:
        name = self._words.get(normalise(word))
        return self.labels[name] if name else None

    def label_for_path(self, rel_path: str) -> tuple[Label | None, str | None]:
        """Label from the innermost folder of ``rel_path`` that names one, and that folder."""
        folders = rel_path.split("/")[:-1]
        for folder in reversed(folders):
            label = self.lookup(folder)
            if label is not None:
                return label, folder
        return None, None
