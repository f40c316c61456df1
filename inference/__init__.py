"""photo2avatar's backend: photo -> avatar bundle. Never imports ``bpy``.

Importing this package is cheap; heavy dependencies (torch, mediapipe) load inside the
modules that use them.
"""
