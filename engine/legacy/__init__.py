"""The legacy output configs (flat presets), their migration to graphs, and the fixed pipeline
that legacy and shadow modes run."""
