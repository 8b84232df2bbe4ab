"""Stage `synthesize`: synthesize.count emotion-labelled multi-part MIDI pieces (optionally rendered).

Writes raw/synthetic/ (kept between runs: only new pieces are generated) and index/synthetic.json.
"""
from penta_core import steps
from penta_core.stage_runner import main_for

if __name__ == "__main__":
    main_for(steps.synthesize_)
