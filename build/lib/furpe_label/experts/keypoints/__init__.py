"""furpe_label.experts.keypoints."""
