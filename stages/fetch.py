"""Stage `fetch`: download, verify (sha256) and safely extract dataset.source(s) into <dataset>/sources/.

Writes sources/ (one folder per source) and metrics/sources.json; with no source named, an empty sources/.
"""
from penta_core.core.stage_runner import main_for
from penta_core.fetch.stage import run

if __name__ == "__main__":
    main_for(run)
