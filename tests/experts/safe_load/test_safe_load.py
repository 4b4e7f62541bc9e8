"""The safe loader: official layouts load as before, other allowed-global combinations do not."""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import scipy.sparse
import torch

from furpe_label.experts.safe_load import (
    SafeLoadError,
    UnsafeCheckpointError,
    UnsafePickleError,
    read_checkpoint,
    safe_pickle_loads,
)
from tests.support.doubles.crafted_files import (
    call_op,
    dict_pickle,
    dtype_op,
    global_op,
    int_op,
    oversized_tensor_checkpoint,
    python2_chumpy_pickle,
    tuple_op,
)


def test_python2_protocol0_chumpy_pickle_loads(tmp_path):
    """The official SMPL/MANO pickles: protocol 0, copy_reg/__builtin__ names, S'' strings."""
    shapedirs = np.random.default_rng(0).normal(size=(5, 3, 10))
    regressor = scipy.sparse.random(4, 5, density=0.5, format="csc", random_state=0)
    faces = np.arange(6, dtype=np.uint32).reshape(2, 3)
    data = python2_chumpy_pickle(
        {"ch_shapedirs": shapedirs, "J_regressor": regressor, "f": faces, "bs_style": "lbs"}
    )
    assert b"ccopy_reg\n_reconstructor" in data and b"c__builtin__\nobject" in data
    loaded = safe_pickle_loads(data, "basicModel_neutral.pkl")
    np.testing.assert_array_equal(loaded["shapedirs"], shapedirs)
    assert loaded["f"].dtype == np.uint32 and loaded["bs_style"] == "lbs"
    assert (loaded["J_regressor"] != regressor).nnz == 0


def test_uninitialised_memory_globals_are_refused(tmp_path):
    ndarray_call = call_op(global_op("numpy", "ndarray"), tuple_op(int_op(1000)))
    with pytest.raises(UnsafePickleError, match=r"x\.pkl.*numpy\.ndarray"):
        safe_pickle_loads(dict_pickle("v", ndarray_call), "x.pkl")
    float_tensor = call_op(global_op("torch", "FloatTensor"), tuple_op(int_op(1000)))
    with pytest.raises(UnsafePickleError, match=r"'torch\.FloatTensor'"):
        safe_pickle_loads(dict_pickle("v", float_tensor), "x.pkl")


def test_dtype_state_is_applied_once_and_before_use():
    dtype = dtype_op("<f8", 0, endian="<", elsize=-1)
    scalar = call_op(global_op("numpy.core.multiarray", "scalar"), b"h\x00", b"C\x08" + bytes(8))
    # memoise the dtype (BINPUT 0), use it in a scalar, then try to change its state
    stream = (
        b"\x80\x03"
        + dtype
        + b"q\x00"
        + scalar
        + b"0h\x00"
        + tuple_op(int_op(3), b"X\x01\x00\x00\x00>", b"NNN", int_op(-1), int_op(-1), int_op(0))
        + b"b."
    )
    with pytest.raises(UnsafePickleError, match=r"second state for one numpy"):
        safe_pickle_loads(stream, "x.pkl")
    one = b"C\x08" + np.array(1.0, ">f8").tobytes()
    big_endian = dtype_op("f8", 0, endian=">", elsize=-1)  # numpy's own state for '>f8'
    stream = b"\x80\x03" + call_op(global_op("numpy.core.multiarray", "scalar"), big_endian, one)
    assert safe_pickle_loads(stream + b".", "x.pkl") == 1.0


def test_checkpoints_load_as_torch_load_does(tmp_path):
    base = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    state = OrderedDict(
        a=base, b=base.t(), c=base[1:, 2:], i=torch.arange(5), m=torch.ones(2, dtype=torch.bool)
    )
    payload = {"model": state, "epoch": 3, "perm": [2, 0, 1], "name": "x", "empty": torch.zeros(0)}
    for legacy in (False, True):
        path = tmp_path / f"ckpt_{legacy}.pt"
        torch.save(payload, path, _use_new_zipfile_serialization=not legacy)
        ours, theirs = read_checkpoint(path), torch.load(path, weights_only=True)
        assert type(ours["model"]) is OrderedDict and list(ours["model"]) == list(state)
        assert ours["epoch"] == 3 and ours["perm"] == [2, 0, 1] and ours["name"] == "x"
        for key, tensor in theirs["model"].items():
            mine = ours["model"][key]
            assert mine.dtype == tensor.dtype and mine.stride() == tensor.stride()
            torch.testing.assert_close(mine, tensor)
        assert ours["model"]["b"].untyped_storage().data_ptr() == (
            ours["model"]["a"].untyped_storage().data_ptr()
        )


def test_legacy_checkpoint_with_unlisted_storage_is_refused(tmp_path):
    path = tmp_path / "model_checkpoint.pt"
    state = {"w": torch.arange(4.0), "b": torch.ones(2)}
    oversized_tensor_checkpoint(path, state, "w", 4, legacy=True, drop_keys=True)  # size fits
    with pytest.raises(UnsafeCheckpointError, match=r"model_checkpoint\.pt.*no data in the file"):
        read_checkpoint(path)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script/save
def test_torchscript_and_numpy_in_checkpoints(tmp_path):
    scripted = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), scripted)
    with pytest.raises(UnsafeCheckpointError, match="TorchScript"):
        read_checkpoint(scripted)
    with_numpy = tmp_path / "mmpose.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}, "meta": {"s": np.arange(3.0)}}, with_numpy)
    with pytest.raises(UnsafeCheckpointError, match="_reconstruct"):
        read_checkpoint(with_numpy)
    loaded = read_checkpoint(with_numpy, numpy_arrays=True)
    np.testing.assert_array_equal(loaded["meta"]["s"], np.arange(3.0))


def test_shared_references_are_walked_once_and_cycles_refused():
    level = []
    for _ in range(40):  # 2**40 paths through 40 shared lists: must not be walked per path
        level = [level, level]
    loaded = safe_pickle_loads(pickle.dumps(level), "dag.pkl")
    assert loaded[0] is loaded[1] and loaded[0][0] is loaded[1][1]
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(UnsafePickleError, match="contains itself"):
        safe_pickle_loads(pickle.dumps(cyclic), "cycle.pkl")


def test_truncated_and_garbage_streams_name_the_file():
    good = pickle.dumps({"v": np.arange(10.0)}, protocol=2)
    for data in (good[: len(good) // 2], b"\x00garbage", io.BytesIO(good).read()[:-1]):
        with pytest.raises(SafeLoadError, match=r"^cut\.pkl: "):
            safe_pickle_loads(data, "cut.pkl")
