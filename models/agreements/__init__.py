"""Support agreements, packages, service amounts and consumption."""
