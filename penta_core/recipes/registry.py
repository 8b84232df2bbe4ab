"""Every dataset recipe by name, and what a recipe fills in of the params the user left unset."""
from __future__ import annotations

import copy
from typing import Any

from penta_core.recipes import emopia, groove, maestro, pop909, slakh, vgmidi
from penta_core.recipes.recipe import Recipe

RECIPES: dict[str, Recipe] = {m.RECIPE.name: m.RECIPE for m in (emopia, vgmidi, pop909, groove, slakh, maestro)}


def apply_recipe(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with what ``dataset.recipe`` declares in the keys left at their defaults.

    ``annotate.labels``, ``split.group_by``, ``split.published`` and ``split.families`` (when null) and
    ``export.license`` (when ``unknown``) come from the recipe; anything the user wrote wins.
    """
    name = params["dataset"]["recipe"]
    if name is None:
        return params
    recipe = RECIPES[name]
    params = copy.deepcopy(params)
    if params["annotate"]["labels"] is None and recipe.labels is not None:
        params["annotate"]["labels"] = dict(recipe.labels)
    if params["split"]["group_by"] is None and recipe.group_by is not None:
        params["split"]["group_by"] = recipe.group_by
    for key in ("published", "families"):
        if params["split"][key] is None and getattr(recipe, key) is not None:
            params["split"][key] = copy.deepcopy(getattr(recipe, key))
    if params["export"]["license"] == "unknown":
        params["export"]["license"] = recipe.licence
    return params
