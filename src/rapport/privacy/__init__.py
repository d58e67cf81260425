"""Personal-data rights: export, erasure and the data-subject request log."""
