"""Stage `annotate`: labels from folder names through the vocabulary.

Writes annotations/<id>.json and index/annotated.json.
"""
from penta_core import steps
from penta_core.stage_runner import main_for

if __name__ == "__main__":
    main_for(steps.annotate_)
