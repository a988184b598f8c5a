"""The control API: the policy family (A), the fault families (B, C) and the ops endpoints."""
