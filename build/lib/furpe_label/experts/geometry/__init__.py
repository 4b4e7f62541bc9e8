"""furpe_label.experts.geometry."""
