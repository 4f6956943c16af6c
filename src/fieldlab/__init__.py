"""fieldlab."""
