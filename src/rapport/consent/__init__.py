"""What each customer agreed to be sent, per channel, with proof."""
