"""The emotion recognizer: one label per piece, from folder names, learnt from the feature table.

Its labels come from the annotate stage (folder names through the
vocabulary, then people's corrections); its examples are the rows of the
feature table (the features stage); its baseline is the random forest of
:mod:`penta_core.baseline.model`. Every augmentation keeps an emotion label:
a transposed, slightly faster or louder piece is taken to carry the same
emotion (the label is the parent's), which is what the pipeline has always
done. The targets stage derives nothing for it.
"""
from __future__ import annotations

from typing import Any, ClassVar

from penta_core.augment import registry as transforms
from penta_core.core.layout import DatasetLayout
from penta_core.targets.model import KEEPS, AugmentationRule, TargetModel


class EmotionRecognizer(TargetModel):
    name = "emotionrecognizer"
    derives = False
    augmentations: ClassVar[dict[str, AugmentationRule]] = {
        f"{kind}.{name}": AugmentationRule(KEEPS, "the variant carries its parent's label")
        for kind in transforms.KINDS for name in transforms.declared(kind)}
    example_format = "one row of the feature table (processed/features) per sample, labelled in the manifest"

    def baseline(self, params: dict[str, Any], layout: DatasetLayout) -> list[str]:
        """The random forest on the train split's feature rows, scored on val and test."""
        from penta_core.baseline.model import summary_line, train_score_predict, write_baseline
        from penta_core.baseline.predictions import write_predictions
        from penta_core.features.table import FeatureRowsFile
        from penta_core.manifest.load import iter_samples
        from penta_core.splits.lists import read_splits

        # The table stays on disk (the forest reads its train rows, the predictions a batch at a
        # time) and the manifest streams past: the stage's memory does not grow with the samples'.
        names: dict[str, str] = {}
        labels = {s["id"]: names.setdefault(s["label"], s["label"]) if s["label"] is not None else None
                  for s in iter_samples(layout)}
        with FeatureRowsFile(layout) as table:
            metrics, pairs, predictions = train_score_predict(table.ids, table.columns, table, read_splits(layout),
                                                              labels, params["seed"],
                                                              params["baseline"]["max_train_rows"])
        write_baseline(layout, metrics, pairs)
        write_predictions(layout, predictions)
        return [summary_line(metrics)]


MODEL = EmotionRecognizer()
