"""furpe_label.pipeline."""
