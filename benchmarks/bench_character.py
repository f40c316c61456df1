"""Applying a photo to another character: one JSON line.

On the ``body`` test character (``tests/characters.py``: a subdivided head on a torso,
about 32,000 vertices, in centimetres): ``find_face_s`` (renders, MediaPipe, ray casts),
``deform_s`` (similarity, factorisation of the membrane system, solve, smoothing) and
``apply_s`` (the whole ``apply_to_character``, writes and bone re-seating included). The
reference formulation in the same run is the bi-Laplacian energy of ``inference.deform``
on the same mesh (``bilaplacian_factor_s``; the ratio is ``membrane_speedup``).
``arkit_transfer_s``: the 52 keys' deltas by deformation transfer; ``arkit_keys_s``: the
same with the shape keys written and their landmark motion measured (``--arkit``).
``head_texture_s``: the photo projected onto our head's UV map for a character;
``texture_s``: that carried into the body's own 1024 base-colour image (a copy, blended,
packed; ``texels_painted``).
Target: correspondence + deformation on a 20k-vertex mesh <= 2 s: ``find_plus_deform_20k_s``,
the body decimated to about 20,000 vertices (``vertices_20k``).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    from blender_addon.environment import contain_caches
    contain_caches()
    import bpy
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    from blender_addon.character import apply_to_character, find_face, rest_geometry
    from characters import make_character
    from inference.character_fit import CharacterDeformer, character_offsets, rig_landmark_change
    from inference.deform import uniform_laplacian
    from inference.pipeline import Backend

    analysis = Backend().analyze(ROOT / "samples" / "photos" / "person_02.jpg")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    obj = make_character("body", textured=True)
    find_face(obj)                                # warm: MediaPipe and the renderer start once
    t = time.perf_counter()
    surface, _ = find_face(obj)
    find_s = time.perf_counter() - t
    verts, tris = rest_geometry(obj)
    l0, change, usable = rig_landmark_change(analysis.avatar, analysis.deformation, analysis.geometric_shape)
    t = time.perf_counter()
    character_offsets(verts, tris, surface, l0, change, usable)
    deform_s = time.perf_counter() - t
    t = time.perf_counter()
    deformer = CharacterDeformer(verts, tris, surface)
    membrane_s = time.perf_counter() - t
    # reference: the bi-Laplacian |Lu|^2 over the same free vertices
    t = time.perf_counter()
    lap = uniform_laplacian(len(verts), tris)
    col = sp.csr_matrix((np.ones(len(deformer.free)), (deformer.free, np.arange(len(deformer.free)))),
                        shape=(len(verts), len(deformer.free)))
    lc = (lap @ col).tocsr()
    splu((deformer._b.T @ deformer._b + 0.05 * (lc.T @ lc) + 1e-10 * sp.identity(len(deformer.free))).tocsc())
    bilap_s = time.perf_counter() - t
    t = time.perf_counter()
    apply_to_character(obj, analysis.avatar, analysis.deformation, analysis.geometric_shape)
    apply_s = time.perf_counter() - t
    from blender_addon.character import add_arkit_keys
    from inference.character_arkit import arkit_deltas
    verts1, _ = rest_geometry(obj)
    t = time.perf_counter()
    arkit_deltas(verts1, tris, surface)
    transfer_s = time.perf_counter() - t
    t = time.perf_counter()
    add_arkit_keys(obj, surface)
    arkit_s = time.perf_counter() - t
    from blender_addon.character_texture import apply_face_texture
    from inference.character_texture import character_head_texture
    from inference.photo_io import load_photo
    photo = load_photo(ROOT / "samples" / "photos" / "person_02.jpg")
    t = time.perf_counter()
    head = character_head_texture(photo.rgb, analysis, "identity")
    head_s = time.perf_counter() - t
    t = time.perf_counter()
    tex = apply_face_texture(obj, surface, head)
    texture_s = time.perf_counter() - t
    # the target's size: the same body decimated to about 20k vertices
    bpy.ops.wm.read_factory_settings(use_empty=True)
    small = make_character("body")
    small.shape_key_clear()                       # (a modifier cannot be applied under shape keys)
    mod = small.modifiers.new("to_20k", "DECIMATE")
    mod.ratio = 20000 / len(small.data.vertices)
    bpy.context.view_layer.objects.active = small
    bpy.ops.object.modifier_move_to_index(modifier=mod.name, index=0)
    bpy.ops.object.modifier_apply(modifier=mod.name)
    find_face(small)
    sverts, stris = rest_geometry(small)
    t = time.perf_counter()
    ssurf, _ = find_face(small)
    character_offsets(sverts, stris, ssurf, l0, change, usable)
    small_s = time.perf_counter() - t
    out = {"bench": "character", "vertices": len(verts), "free_vertices": len(deformer.free),
           "find_face_s": find_s, "deform_s": deform_s, "find_plus_deform_s": find_s + deform_s,
           "apply_s": apply_s, "membrane_setup_s": membrane_s, "bilaplacian_factor_s": bilap_s,
           "membrane_speedup": bilap_s / membrane_s, "arkit_transfer_s": transfer_s, "arkit_keys_s": arkit_s,
           "head_texture_s": head_s, "texture_s": texture_s, "texels_painted": tex["texture_texels_painted"],
           "vertices_20k": len(sverts), "find_plus_deform_20k_s": small_s}
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}))


if __name__ == "__main__":
    main()
