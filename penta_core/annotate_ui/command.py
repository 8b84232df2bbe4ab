"""``penta-dataset --annotate-ui`` and the Label Studio import/export flags."""
from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path
from typing import Any

from penta_core.core.errors import MissingInput, ParamError
from penta_core.core.io import atomic_write_text
from penta_core.core.layout import DatasetLayout


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The annotation page's flags, as their own group of ``parser``."""
    group = parser.add_argument_group("annotation page")
    group.add_argument("--annotate-ui", action="store_true",
                       help="serve the annotation page (listen, confirm and correct labels) on 127.0.0.1")
    group.add_argument("--port", type=int, default=8765, metavar="N", help="port of the annotation page (8765)")
    group.add_argument("--host", default="127.0.0.1", help="interface to serve on (default 127.0.0.1 only)")
    group.add_argument("--annotator", metavar="NAME", help="name recorded in annotation events (default: login)")
    group.add_argument("--compare", default="HEAD", metavar="REV",
                       help="git revision the overview compares metrics with (HEAD)")
    group.add_argument("--render-cache", metavar="DIR", help="where MIDI renders are cached (~/.cache/penta_core)")
    group.add_argument("--export-label-studio", metavar="FILE",
                       help="write Label Studio tasks (predictions, completed annotations) and FILE's .xml config")
    group.add_argument("--import-label-studio", metavar="FILE",
                       help="record the completed annotations of a Label Studio JSON export as annotation events")


def wanted(args: argparse.Namespace) -> bool:
    """Whether the command line asks for the annotation page or a Label Studio transfer."""
    return bool(args.annotate_ui or args.export_label_studio or args.import_label_studio)


def _annotator(args: argparse.Namespace) -> str:
    if args.annotator:
        return args.annotator
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "anonymous"


def run(args: argparse.Namespace, params: dict[str, Any]) -> list[str]:
    """Carry out the Label Studio transfers, then serve the page if asked; return lines to print."""
    from penta_core.annotate_ui.labelstudio import export_tasks, import_file, label_config
    from penta_core.annotate_ui.media import RenderCache
    from penta_core.annotate_ui.server import default_cache_dir, serve_forever
    from penta_core.annotate_ui.session import AnnotationSession

    if not 0 <= args.port <= 65535:
        raise ParamError(f"--port must be between 0 and 65535, got {args.port}")
    layout = DatasetLayout.from_params(params)
    session = AnnotationSession(layout, params, _annotator(args))
    lines = []
    if args.import_label_studio:
        if not Path(args.import_label_studio).is_file():
            raise MissingInput(f"--import-label-studio: file '{args.import_label_studio}' does not exist")
        done = import_file(args.import_label_studio, session, session.annotator)
        lines.append(f"imported {done['recorded']} annotation events from {args.import_label_studio} "
                     f"({done['already']} already recorded) into {session.events_path}")
        lines += [f"  skipped {line}" for line in done["skipped"]]
    if args.export_label_studio:
        out = Path(args.export_label_studio)
        tasks = export_tasks(session)
        atomic_write_text(out, json.dumps(tasks, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        atomic_write_text(out.with_suffix(".xml"), label_config(sorted(session.labels)))
        lines.append(f"wrote {len(tasks)} Label Studio tasks to {out} and the labelling config to "
                     f"{out.with_suffix('.xml')}")
    if args.annotate_ui:
        for line in lines:
            print(line)
        lines = []
        renderer = params["synthesize"]["renderer"]
        renders = RenderCache(Path(args.render_cache) if args.render_cache else default_cache_dir(), renderer)
        serve_forever(session, renders, args.host, args.port, args.compare)
    return lines
