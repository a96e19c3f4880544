"""Live notifications: stored per recipient first, then pushed to the user's WebSocket group."""
