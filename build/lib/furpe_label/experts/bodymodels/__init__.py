"""furpe_label.experts.bodymodels."""
