"""Our rig laid onto another character's face: the shared first step of carrying anything
from our head to theirs (ARKit keys: :mod:`inference.character_arkit`; the photo texture:
:mod:`inference.character_texture`). No bpy.

The similarity (Umeyama, outliers dropped) maps our MediaPipe landmarks onto theirs; a
landmark-guided Laplacian deformation of our rig
(:class:`inference.character_fit.CharacterDeformer`) then puts each of our landmarks on
theirs, the rest of our rig following smoothly. Everything is expressed in our rig's frame;
``to_ours`` takes their object-space points there.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.character_fit import CharacterDeformer, SurfacePoints, similarity_to


def rig_mesh():
    """Our rig, all its parts' triangles, and its landmark correspondence."""
    from rigs.rig_asset import load_correspondence, load_rig
    rig = load_rig()
    tris = np.concatenate([p.triangles() for p in rig.parts.values()])
    return rig, tris, load_correspondence()


def frames(rig, corr, verts: np.ndarray, surface: SurfacePoints):
    """Our rest vertices and landmarks, theirs, the similarity (s, R, t) from ours to theirs
    and the landmarks it kept."""
    ours = rig.verts.astype(np.float64)
    ours_l = corr.points(ours)
    theirs_l = surface.points(verts)
    usable = surface.valid & corr.valid
    usable[468:] = False                       # irises ride on the eyeballs
    sim, keep = similarity_to(ours_l, theirs_l, usable)
    return ours, ours_l, theirs_l, sim, keep


@dataclass
class RigOnCharacter:
    """Our rig registered onto their face, in our rig's frame."""
    rig: object
    rig_tris: np.ndarray
    corr: object
    ours: np.ndarray           # (N, 3) our rest vertices
    registered: np.ndarray     # (N, 3) the same, deformed so our landmarks lie on theirs
    theirs_l: np.ndarray       # (478, 3) their landmarks, their object space
    similarity: tuple          # (s, R, t): our frame -> their object space
    keep: np.ndarray           # (478,) landmarks the registration used
    face_radius: float         # ours, metres
    residual: np.ndarray       # per kept landmark, metres (ours after registration vs theirs)

    def to_ours(self, p: np.ndarray) -> np.ndarray:
        s, r, t = self.similarity
        return (np.asarray(p, np.float64) - t) @ r / s

    def region(self, verts: np.ndarray, radii: float) -> np.ndarray:
        """Ids of their vertices within ``radii`` face radii of their landmarks' centre."""
        centre = self.theirs_l[self.keep].mean(0)
        return np.flatnonzero(np.linalg.norm(verts - centre, axis=1) < radii * self.face_radius * self.similarity[0])


def register_rig(verts: np.ndarray, surface: SurfacePoints) -> RigOnCharacter:
    """Register our rig onto the character whose vertices are ``verts`` and landmarks ``surface``."""
    rig, rig_tris, corr = rig_mesh()
    verts = np.asarray(verts, np.float64)
    ours, ours_l, theirs_l, sim, keep = frames(rig, corr, verts, surface)
    s, r, t = sim
    deformer = CharacterDeformer(ours, rig_tris, SurfacePoints(corr.tri, corr.bary, keep))
    target = (theirs_l - t) @ r / s
    registered = ours + deformer.solve(target - ours_l)
    residual = np.linalg.norm(corr.points(registered) - target, axis=1)[keep]
    return RigOnCharacter(rig, rig_tris, corr, ours, registered, theirs_l, sim, keep,
                          deformer.face_radius, residual)
