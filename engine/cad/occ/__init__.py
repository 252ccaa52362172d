"""OpenCascade helpers for the CAD executors: XCAF reading, units, tessellation, GLB writing.

Every module here imports OCP at load, so import them only inside executors (the engine itself
must import without OpenCascade).
"""
