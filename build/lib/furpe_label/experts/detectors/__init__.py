"""furpe_label.experts.detectors."""
