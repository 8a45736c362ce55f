"""Support cases and the user groups that work on them."""
