"""Dataset adapters: one module per layout, each turning a dataset into manifest rows.

``ADAPTERS`` maps every ``--dataset`` name to its :class:`DatasetAdapter` class;
``create_adapter(name, root=..., annotations=..., **options)`` builds one from CLI values and
``adapter.build_manifest()`` returns the manifest table (:mod:`furpe_label.storage.manifest`).
"""

from furpe_label.workflows.datasets.base import DatasetAdapter
from furpe_label.workflows.datasets.readers import DatasetError
from furpe_label.workflows.datasets.registry import ADAPTERS, adapter_class, create_adapter

__all__ = ["ADAPTERS", "DatasetAdapter", "DatasetError", "adapter_class", "create_adapter"]
