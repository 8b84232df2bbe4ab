"""Stage `families`: fingerprint imported MIDI and audio and join near-duplicates into families."""
from penta_core.core.stage_runner import main_for
from penta_core.families.stage import run

if __name__ == "__main__":
    main_for(run)
