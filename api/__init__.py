"""The ways in: the Falcon app, its resources, error mapping, auth, and the command line."""
