"""Blender-side building blocks of the render nodes, one concern per module.

Every module imports `bpy` inside its functions, so `engine` stays importable without Blender:
scene (a fresh render scene from a template, non-destructively), studio (the studio rig the
templates are built from), importer (GLB in), shading (library materials), camera (framing
applied), render_setup (engine and output settings), output (stills and video files), render_job
(a still as Blender's render job in a Blender with a window).
"""
