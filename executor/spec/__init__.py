"""API bodies read and checked: fault specs and their fields, policies and their schema, JSON and times."""
