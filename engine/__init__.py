"""HartOMat engine: pure Python, importable without Blender or OpenCascade.

Modules that need `bpy` or `OCP` import them inside functions, never at module load.
Inside the package, imports are relative so the engine can be vendored under another name
(the Blender extension ships it as `hartomat_addon.vendor.engine`).
"""

__version__ = "0.1.0"
