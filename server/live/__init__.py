"""Live sessions: rooms, signalling, TURN credentials, the echo and the recorder."""
