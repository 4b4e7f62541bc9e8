"""furpe_label.experts."""
