"""Customer intelligence: per-customer metrics, RFM, lifetime value, churn risk and cohorts."""
