"""Safe loading of official-style pickles, npz and npy files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse

from furpe_label.experts.safe_load import (
    UnsafePickleError,
    safe_load_any,
    safe_load_npy,
    safe_load_npz,
    safe_pickle_load,
)
from tests.support.doubles.chumpy_standin import (
    ChTestDouble,
    MaliciousPayload,
    write_chumpy_style_pickle,
)


def test_chumpy_style_pickle_loads_as_numpy(tmp_path):
    shapedirs = np.random.default_rng(0).normal(size=(6, 3, 10))
    regressor = scipy.sparse.random(4, 6, density=0.5, format="csc", random_state=0)
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    write_chumpy_style_pickle(
        path,
        {
            "shapedirs": ChTestDouble(shapedirs),
            "J_regressor": regressor,
            "bs_style": "lbs",
            "kintree_table": np.zeros((2, 4), dtype=np.uint32),
        },
    )
    assert b"chumpy.ch" in path.read_bytes()
    loaded = safe_pickle_load(path)
    assert isinstance(loaded["shapedirs"], np.ndarray)
    np.testing.assert_array_equal(loaded["shapedirs"], shapedirs)
    assert scipy.sparse.issparse(loaded["J_regressor"])
    np.testing.assert_array_equal(loaded["J_regressor"].toarray(), regressor.toarray())
    assert loaded["bs_style"] == "lbs"


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "MANO_RIGHT.pkl"
    with open(path, "wb") as handle:
        pickle.dump({"v_template": np.zeros(3), "evil": MaliciousPayload(marker)}, handle)
    with pytest.raises(UnsafePickleError) as error:
        safe_pickle_load(path)
    assert "posix.system" in str(error.value) or "os.system" in str(error.value)
    assert str(path) in str(error.value)
    assert not marker.exists()


def test_builtins_eval_refused(tmp_path):
    class EvalPayload:
        def __reduce__(self):
            return (eval, ("1+1",))

    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(EvalPayload()))
    with pytest.raises(UnsafePickleError, match=r"builtins\.eval"):
        safe_pickle_load(path)


def test_npz_with_pickled_dict_member_and_malicious_member(tmp_path):
    good = tmp_path / "SMPLX_NEUTRAL.npz"
    np.savez(good, v_template=np.ones((5, 3), np.float32), joint2num=np.array({"pelvis": 0}))
    loaded = safe_load_npz(good)
    assert loaded["joint2num"] == {"pelvis": 0}
    assert loaded["v_template"].shape == (5, 3)
    assert loaded["v_template"].dtype == np.float32

    marker = tmp_path / "pwned"
    bad = tmp_path / "bad.npz"
    payload = np.empty((), dtype=object)
    payload[()] = MaliciousPayload(marker)
    np.savez(bad, v_template=np.ones(3), evil=payload)
    with pytest.raises(UnsafePickleError, match=r"bad\.npz:evil"):
        safe_load_npz(bad)
    assert not marker.exists()


def test_npy_dict_and_fortran_arrays(tmp_path):
    embedding = {"static_lmk_faces_idx": np.arange(51), "name": "x"}
    path = tmp_path / "landmark_embedding.npy"
    np.save(path, embedding)
    loaded = safe_load_npy(path)
    np.testing.assert_array_equal(loaded["static_lmk_faces_idx"], np.arange(51))
    fortran = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    np.save(tmp_path / "f.npy", fortran)
    np.testing.assert_array_equal(safe_load_any(tmp_path / "f.npy"), fortran)


def test_deca_style_embedding_with_torch_tensors(tmp_path):
    import torch

    embedding = {
        "static_lmk_faces_idx": np.arange(51),
        "dynamic_lmk_faces_idx": torch.arange(79 * 17).reshape(79, 17),
        "dynamic_lmk_bary_coords": torch.full((79, 17, 3), 1 / 3, dtype=torch.float64),
    }
    path = tmp_path / "landmark_embedding.npy"
    np.save(path, embedding)
    assert b"torch" in path.read_bytes()
    loaded = safe_load_npy(path)
    assert isinstance(loaded["dynamic_lmk_faces_idx"], np.ndarray)
    np.testing.assert_array_equal(
        loaded["dynamic_lmk_faces_idx"], np.arange(79 * 17).reshape(79, 17)
    )
    assert loaded["dynamic_lmk_bary_coords"].dtype == np.float64


def test_torch_tensor_with_malicious_storage_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    bad = pickle.dumps({"x": MaliciousPayload(marker)})
    path = tmp_path / "bad.npy"
    array = np.empty((), dtype=object)
    array[()] = {"nested": bad}
    np.save(path, array)
    # bytes inside a dict are data, never unpickled
    assert safe_load_npy(path)["nested"] == bad
    assert not marker.exists()
