"""Rendering: Blender scene building (`blender`, bpy imported inside), framing math, materials
and their rules, the template library, and image work that runs in any host."""
