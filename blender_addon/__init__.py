"""photo2avatar's Blender side: everything that imports ``bpy``.

The engine modules (``avatar_build``, ``looks``, ``render``, ``export``) work in the
bpy module headless and in the Blender app; the add-on UI registers on top of them.
"""
