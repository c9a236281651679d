"""The store of questions the assistant could not answer, and `make review`."""
