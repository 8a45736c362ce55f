"""Who may sign in: users, workgroups, roles held and groups."""
