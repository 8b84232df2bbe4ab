"""Slakh2100: multi-track renders; the stems and mix of one track form a family; the split is the folder."""
from penta_core.recipes.recipe import Recipe

RECIPE = Recipe(
    name="slakh",
    title="Slakh2100 (redux)",
    homepage="http://www.slakh.com",
    licence="cc-by-4.0",
    # slakh2100_flac_redux/{train,validation,test}/Track00001/{all_src.mid, MIDI/S00.mid, mix.flac, metadata.yaml}
    layout=("**/Track[0-9][0-9][0-9][0-9][0-9]/all_src.mid", "**/Track[0-9][0-9][0-9][0-9][0-9]/MIDI/S*.mid"),
    group_by=r"(Track\d{5})/",
    # The split is the folder: train/, validation/, test/ (redux's omitted/ duplicates are unlisted).
    published={"folders": True},
)
