"""furpe_label.experts.crops."""
