"""Stage `synthesize`: synthesize.count emotion-labelled multi-part MIDI pieces (optionally rendered).

Writes raw/synthetic/ (kept between runs: only new pieces are generated) and index/synthetic.json.
"""
from penta_core.core.stage_runner import main_for
from penta_core.synth.stage import run

if __name__ == "__main__":
    main_for(run)
