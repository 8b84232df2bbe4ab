"""EMOPIA: piano clips labelled by valence/arousal quadrant; the clips of one song form a family."""
from penta_core.recipes.recipe import Recipe

RECIPE = Recipe(
    name="emopia",
    title="EMOPIA 1.0",
    homepage="https://zenodo.org/record/5090631",
    licence="cc-by-4.0",
    # EMOPIA_1.0.zip: midis/Q1__8v0MFBZoco_0.mid ..., label.csv (ID, 4Q, annotator), split/{train,val,test}_clip.csv
    layout=("**/midis/Q?_*_*.mid", "**/label.csv"),
    labels={"path": "**/label.csv", "file_column": "ID", "label_column": "4Q", "label_format": "q{}"},
    group_by=r"(?:^|/)Q\d_([^/]+)_\d+\.midi?$",
    # Its own split: one table per split, each listing clip_name (Q1__8v0MFBZoco_0.mid).
    published={"tables": {"train": "**/split/train_clip.csv", "val": "**/split/val_clip.csv",
                          "test": "**/split/test_clip.csv"}, "file_column": "clip_name"},
)
