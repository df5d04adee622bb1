"""The child's case as the statutory guidance describes it: the aggregate, its events and their
payloads, the vocabulary, and what can be recorded truthfully."""
