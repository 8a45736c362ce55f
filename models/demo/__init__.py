"""Demo and benchmark data sets."""
