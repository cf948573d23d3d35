"""The accounts app: who writes."""
