"""What each customer likes, avoids and must not be given."""
