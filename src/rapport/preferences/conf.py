"""The limits preferences keep to."""

# How many preferences one customer may hold: a list endpoint returns them all at once.
PREFERENCES_PER_CUSTOMER = 200

# The largest value, as compact JSON: a preference is a setting, not a document.
VALUE_BYTES_LIMIT = 4096

# The width of the category and key columns.
SLUG_LIMIT = 50

# The width of the source column.
SOURCE_LIMIT = 100
