"""careledger's write side: the child's case as an event-sourced aggregate, its events,
the application service that records them, and the stores they are kept in."""
