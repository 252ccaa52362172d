"""Node executors, one module per dependency family (pure, cad, render, media, web, bridge).

A definition's `module_key` 'cad.occ_glb_export' names `executors/cad.py:occ_glb_export`.
Modules here may import `bpy` or `OCP` only inside functions.
"""
