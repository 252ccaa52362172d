"""The nodes HartOMat ships, one module per dependency family: each node's settings model,
definition and executor side by side, registered together by `@node(NodeDefinition(...))`.

cad (STEP, GLB; OCP inside functions), pure (order line, materials), render (Blender; bpy inside
functions), web (three.js viewer, Chromium snapshot), media (thumbnails), output (publishing,
webhook), bridge (legacy chains as one node). `engine.model.registry.REGISTRY` imports this
package on its first read; the order here is the registry's, and so the editor's palettes'.
"""

import importlib

FAMILY_MODULES = ("cad", "pure", "render", "web", "media", "output", "bridge")

for _family in FAMILY_MODULES:
    importlib.import_module(f"{__name__}.{_family}")
