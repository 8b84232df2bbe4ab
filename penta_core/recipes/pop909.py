"""POP909: pop songs with piano arrangements; the versions of one song form a family; chord/key files beside."""
from penta_core.recipes.recipe import Recipe

RECIPE = Recipe(
    name="pop909",
    title="POP909",
    homepage="https://github.com/music-x-lab/POP909-Dataset",
    licence="mit",
    # POP909/001/001.mid, POP909/001/versions/001-v1.mid, chord_midi.txt, key_audio.txt, beat_midi.txt
    layout=("**/POP909/[0-9][0-9][0-9]/[0-9][0-9][0-9].mid", "**/POP909/[0-9][0-9][0-9]/chord_midi.txt"),
    group_by=r"POP909/(\d{3})/",
    # No published split: the repository ships none.
)
