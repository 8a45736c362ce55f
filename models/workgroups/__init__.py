"""Workgroups."""
