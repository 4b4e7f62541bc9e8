"""Fusion of the part experts' outputs into one SMPL-X body (wrist and head integration)."""
