"""Customers: the table, its tags, the recently opened, the overview in numbers."""
