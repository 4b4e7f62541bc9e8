"""furpe_label.experts.networks."""
