"""furpe_label.selection."""
