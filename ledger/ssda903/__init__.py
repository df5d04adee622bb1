"""The DfE's SSDA903 return: the records as the ledger keeps them, and reading a return into
events."""
