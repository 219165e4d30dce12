"""The read path: a query in, ranked memories out."""
