"""The blog app: posts and tags."""
