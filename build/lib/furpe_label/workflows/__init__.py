"""furpe_label.workflows."""
