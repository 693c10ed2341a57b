"""Thin, stateless Falcon resources: parse the request, call one service, shape the answer."""
