"""The avatar.json contract: defaults, validation messages, flat-vector round trips."""
from __future__ import annotations

import json

import numpy as np
import pytest

from inference.avatar import (SCHEMA, AvatarError, AvatarLayout, avatar_from_dict, default_avatar,
                              load_avatar, save_avatar)
from inference.errors import InputError
from rigs.catalogue import shape_catalogue


def test_default_round_trips_through_json(tmp_path):
    av = default_avatar()
    av.shape["nose_width"] = 0.4
    av.expression["jawOpen"] = 0.3
    save_avatar(av, tmp_path / "avatar.json")
    data = json.loads((tmp_path / "avatar.json").read_text())
    assert data["schema"] == SCHEMA
    assert set(data["shape"]) == {p.name for p in shape_catalogue()}
    back = load_avatar(tmp_path / "avatar.json")
    assert back.to_dict() == av.to_dict()
    assert not list(tmp_path.glob(".*tmp"))  # no temp file left behind


def test_missing_sections_take_defaults():
    av = avatar_from_dict({"schema": SCHEMA, "shape": {"eye_size": -0.5}})
    assert av.shape["eye_size"] == -0.5
    assert av.shape["nose_width"] == 0.0
    assert av.assets == {"hair": "crop", "eyebrows": "medium", "beard": "none", "glasses": "none"}
    assert av.style == {"name": "identity", "strength": 1.0}


@pytest.mark.parametrize("patch, field, words", [
    ({"extra": 1}, "extra", "unknown section"),
    ({"shape": {"nose_size": 0.1}}, "shape.nose_size", "not a parameter"),
    ({"shape": {"nose_width": 1.5}}, "shape.nose_width", "outside [-1, 1]"),
    ({"shape": {"head_shape_round": -0.2}}, "shape.head_shape_round", "outside [0, 1]"),
    ({"shape": {"nose_width": "wide"}}, "shape.nose_width", "expected a number"),
    ({"shape": {"nose_width": float("nan")}}, "shape.nose_width", "not a finite"),
    ({"colors": {"skin": "#12345"}}, "colors.skin", "'#rrggbb'"),
    ({"colors": {"skin": "red"}}, "colors.skin", "'#rrggbb'"),
    ({"colors": {"teeth": "#ffffff"}}, "colors.teeth", "unknown colour"),
    ({"assets": {"hair": "mohawk-9000"}}, "assets.hair", "not in the asset catalogue"),
    ({"assets": {"hat": "none"}}, "assets.hat", "unknown attribute"),
    ({"style": {"name": "nope"}}, "style.name", "not a style preset"),
    ({"style": {"strength": 3}}, "style.strength", "outside [0, 2]"),
    ({"expression": {"smile": 0.5}}, "expression.smile", "not an ARKit"),
    ({"expression": {"jawOpen": 1.5}}, "expression.jawOpen", "outside [0, 1]"),
    ({"schema": "photo2avatar/avatar@9"}, "schema", "expected"),
    ({"hair": {"grey": 1.5}}, "hair.grey", "outside [0, 1]"),
    ({"hair": {"shine": 0.5}}, "hair.shine", "unknown key"),
    ({"hair": {"roots": "dark"}}, "hair.roots", "expected a number"),
])
def test_invalid_values_name_the_field(patch, field, words):
    data = {"schema": SCHEMA, **patch}
    with pytest.raises(AvatarError) as e:
        avatar_from_dict(data)
    assert e.value.field == field
    assert str(e.value).startswith(field) and words in str(e.value)


def test_load_reports_file_and_json_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(AvatarError, match="not valid JSON"):
        load_avatar(bad)
    with pytest.raises(InputError, match="no such file"):
        load_avatar(tmp_path / "missing.json")
    with pytest.raises(InputError, match="is a directory"):
        load_avatar(tmp_path)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"schema": SCHEMA, "colors": {"hair": "#zzzzzz"}}))
    with pytest.raises(AvatarError, match=r"wrong.json: colors.hair"):
        load_avatar(wrong)


def test_flat_vector_round_trip_and_relaxed_assets():
    layout = AvatarLayout()
    av = default_avatar()
    av.shape["jaw_width"] = -0.75
    av.colors["hair"] = "#a05a2c"
    av.style["strength"] = 1.5
    v = layout.to_vector(av)
    assert v.shape == (len(layout),) and len(layout.names) == len(layout)
    assert layout.from_vector(v).to_dict() == av.to_dict()
    # every asset block is an exact one-hot
    for k, sl in layout.slices.items():
        assert v[sl].sum() == 1.0
    # a relaxed block decodes to its arg-max; sliders clip to their range
    v2 = v.copy()
    v2[layout.names.index("jaw_width")] = -7.0
    v2[layout.slices["hair"]] = np.linspace(0.1, 0.9, len(layout.asset_ids["hair"]))
    back = layout.from_vector(v2)
    assert back.shape["jaw_width"] == -1.0
    assert back.assets["hair"] == layout.asset_ids["hair"][-1]


def test_vector_shape_and_nan_are_rejected():
    layout = AvatarLayout()
    with pytest.raises(AvatarError, match="shape"):
        layout.from_vector(np.zeros(3))
    v = layout.to_vector(default_avatar())
    v[layout.names.index("nose_width")] = np.nan
    with pytest.raises(AvatarError) as e:
        layout.from_vector(v)
    assert e.value.field == "nose_width"
