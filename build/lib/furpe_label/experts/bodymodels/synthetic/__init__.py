"""furpe_label.experts.bodymodels.synthetic."""
