"""careledger's read side: projections of the event log into tables, and the queries and
judgements (unapproved changes) made from them."""
