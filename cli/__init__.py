"""careledger's command line: parse, call the ledger or a query, render."""
