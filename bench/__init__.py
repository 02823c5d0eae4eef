"""`make bench`: speed and memory of the pipeline's stages, measured, never asserted."""
