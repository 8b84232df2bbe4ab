"""Tables that ship beside a corpus (labels, published splits, metadata): reading them and matching rows to files."""
