"""Every action a user can take, and the delivery of what they cause."""
