"""The page's static files, and the DVC plots template that inlines the vendored Vega scripts.

``dvc plots show`` writes HTML that loads Vega from a CDN, which stays blank
offline. ``.dvc/config`` points ``plots.html_template`` at
``.dvc/plots/offline.html``, built here from the same vendored scripts the
overview page serves: ``python -m penta_core.annotate_ui.assets`` rewrites it.
"""
from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from penta_core.core.io import atomic_write_text

VENDOR_SCRIPTS = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")
DVC_TEMPLATE = Path(".dvc") / "plots" / "offline.html"


def static_dir() -> Path:
    """The folder of the page's HTML, JS, CSS and vendored scripts."""
    return Path(str(resources.files("penta_core.annotate_ui").joinpath("static")))


def dvc_template() -> str:
    """An HTML template for ``dvc plots show`` with Vega, Vega-Lite and Vega-Embed inline.

    DVC replaces ``{plot_divs}`` and ``{refresh_tag}``; the template has no
    ``{scripts}`` placeholder, so DVC's CDN script tags are left out.
    """
    vendor = static_dir() / "vendor"
    scripts = "\n".join(
        f"<script>/* {name}: see penta_core/annotate_ui/static/vendor/README.md for version and licence */\n"
        f"{(vendor / name).read_text(encoding='utf-8')}\n</script>"
        for name in VENDOR_SCRIPTS
    )
    return ("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n{refresh_tag}\n<title>DVC plots</title>\n"
            f"{scripts}\n"
            "<style>body { font-family: sans-serif; } table { border-spacing: 15px; }</style>\n"
            "</head>\n<body>\n{plot_divs}\n</body>\n</html>\n")


def write_dvc_template(project_dir: str | Path = ".") -> Path:
    """Write :func:`dvc_template` to ``<project_dir>/.dvc/plots/offline.html``."""
    return atomic_write_text(Path(project_dir) / DVC_TEMPLATE, dvc_template())


if __name__ == "__main__":
    print(write_dvc_template(sys.argv[1] if len(sys.argv) > 1 else "."))
