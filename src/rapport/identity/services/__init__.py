"""Every write of identity: identifiers, duplicates and merges."""
