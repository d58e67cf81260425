"""Pure, vectorized scoring: RFM, the customer score, visit patterns, and lifetime models.

Nothing here touches the database or Django settings (except `thresholds`, which reads the
currency scales); every function takes and returns numpy arrays, one element per customer.
"""
