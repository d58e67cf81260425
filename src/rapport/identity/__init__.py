"""Who a customer is across channels: identifiers, duplicates and merges."""
