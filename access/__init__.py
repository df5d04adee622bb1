"""Identity, role-scoped access and the audited log of reads of children's records."""
