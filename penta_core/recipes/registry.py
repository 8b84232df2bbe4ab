"""Every dataset recipe by name, and what a recipe fills in of the params the user left unset."""
from __future__ import annotations

import copy
from typing import Any

from penta_core.recipes import emopia, groove, maestro, pop909, slakh, vgmidi
from penta_core.recipes.recipe import Recipe

RECIPES: dict[str, Recipe] = {m.RECIPE.name: m.RECIPE for m in (emopia, vgmidi, pop909, groove, slakh, maestro)}


def apply_recipe(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with what ``dataset.recipe`` declares in the keys left at their defaults.

    ``annotate.labels`` (when null), ``split.group_by`` (when null) and ``export.license`` (when
    ``unknown``) come from the recipe; anything the user wrote wins.
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
    if params["export"]["license"] == "unknown":
        params["export"]["license"] = recipe.licence
    return params
