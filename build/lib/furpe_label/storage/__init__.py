"""furpe_label.storage."""
