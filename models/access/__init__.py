"""Who holds which role in a workgroup."""
