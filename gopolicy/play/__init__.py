"""Playing: the network's move choice, the GTP engine and client, the match runner and the
gymnasium environment."""
