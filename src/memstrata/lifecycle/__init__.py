"""The life of a memory after it is written: strength, forgetting, layers, archival."""
