"""Stage `annotate`: labels from folder names through the vocabulary.

Writes annotations/<id>.json and index/annotated.json.
"""
from penta_core.annotate.stage import run
from penta_core.core.stage_runner import main_for

if __name__ == "__main__":
    main_for(run)
