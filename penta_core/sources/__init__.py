"""Import: walk a source folder, check every file, copy the valid ones and quarantine the rest."""
