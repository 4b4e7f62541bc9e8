"""``state_dict()``'s OrderedDict ``_metadata`` loads; every other OrderedDict state is refused."""

from __future__ import annotations

import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch

from furpe_label.experts.safe_load import (
    UnsafeCheckpointError,
    UnsafePickleError,
    read_checkpoint,
    safe_pickle_loads,
)
from tests.support.doubles.crafted_ordered_dict_states import (
    OrderedDictWithState,
    nested_dicts,
    shared_lists,
    typed_storage,
)

FORMATS = pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])


def _save(obj: object, path, legacy: bool):
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    return path


@FORMATS
def test_module_state_dict_loads_without_its_version_table(tmp_path, legacy):
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    state = module.state_dict()
    assert state._metadata["1"] == {"version": 2}  # what torch.save pickles with BUILD
    loaded = read_checkpoint(_save({"model": state}, tmp_path / "c.pt", legacy))
    assert type(loaded["model"]) is OrderedDict and list(loaded["model"]) == list(state)
    for key, value in state.items():
        assert torch.equal(loaded["model"][key], value)
    assert not hasattr(loaded["model"], "_metadata")


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"_metadata": OrderedDict([("", {"version": 1}), ("bn", {"version": 2})])},
        {"_metadata": OrderedDict(), "note": ["text", 1.5, None, True, (1, 2)]},
        {"_metadata": shared_lists(levels=7, width=60)},  # 60**7 paths, walked once
    ],
    ids=["empty", "metadata", "plain-extras", "shared-references"],
)
def test_plain_attribute_states_are_accepted(tmp_path, state):
    carrier = OrderedDictWithState(state, items=(("w", torch.ones(2)),))
    loaded = read_checkpoint(_save({"model": carrier}, tmp_path / "c.pt", legacy=False))
    assert list(loaded["model"]) == ["w"] and torch.equal(loaded["model"]["w"], torch.ones(2))


REFUSED_STATES = {
    "int": (5, "to a builtins.int"),
    "list": ([("_metadata", {})], "to a builtins.list"),
    "slot-state-pair": (({"_metadata": {}}, {"slot": 1}), "to a builtins.tuple"),
    "tensor": ({"_metadata": torch.zeros(3)}, "holding a torch.Tensor"),
    "nested-tensor": ({"_metadata": {"": {"version": torch.ones(1)}}}, "holding a torch.Tensor"),
    "class-object": ({"_metadata": OrderedDict}, "holding a builtins.function"),
    "storage": ({"_metadata": typed_storage(2)}, "holding a furpe_label.experts.safe_load"),
    "__class__": ({"__class__": "os.system"}, "attribute '__class__'"),
    "__dict__": ({"__dict__": {}}, "attribute '__dict__'"),
    "__setstate__": ({"_metadata": {}, "__setstate__": 1}, "attribute '__setstate__'"),
    "int-key": ({1: "x"}, "attribute 1 "),
    "not-an-identifier": ({"a-b": 1}, "attribute 'a-b'"),
    "nested-int-key": ({"_metadata": {1: {"version": 1}}}, "with the key 1"),
    "deep": ({"_metadata": nested_dicts(12)}, "nested deeper than 8 levels"),
}


@FORMATS
@pytest.mark.parametrize("name", list(REFUSED_STATES))
def test_other_ordered_dict_states_are_refused(tmp_path, legacy, name):
    state, reason = REFUSED_STATES[name]
    carrier = OrderedDictWithState(state, items=(("w", torch.ones(2)),))
    path = _save({"model": carrier}, tmp_path / "c.pt", legacy)
    refused = r"c\.pt: refused to load: .*OrderedDict"
    with pytest.raises(UnsafeCheckpointError, match=refused) as err:
        read_checkpoint(path)
    assert reason in str(err.value)


def test_numpy_array_state_is_refused_even_where_arrays_are_allowed(tmp_path):
    carrier = OrderedDictWithState({"_metadata": np.zeros(3)})
    path = _save({"meta": carrier}, tmp_path / "c.pth", legacy=False)
    with pytest.raises(UnsafeCheckpointError, match=r"holding a numpy\.ndarray"):
        read_checkpoint(path, numpy_arrays=True)
    data = pickle.dumps({"meta": carrier}, protocol=2)
    with pytest.raises(UnsafePickleError, match=r"x\.pkl: .*holding a numpy\.ndarray"):
        safe_pickle_loads(data, "x.pkl")


def test_pickles_get_the_same_rule():
    accepted = pickle.dumps(OrderedDictWithState({"_metadata": {"": {"version": 1}}}, (("a", 1),)))
    assert safe_pickle_loads(accepted, "ok.pkl") == OrderedDict(a=1)
    refused = pickle.dumps(OrderedDictWithState({"__class__": 1}))
    with pytest.raises(UnsafePickleError, match="attribute '__class__'"):
        safe_pickle_loads(refused, "x.pkl")
