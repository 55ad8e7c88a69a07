"""Who may do what: API tokens scoped to a repository, an owner or every repository, each
with a role (read < write < admin), stored hashed, and the check every endpoint makes."""
