"""The activity record of every change."""
