"""The shapes of the HTTP API: what each call takes and answers, as pydantic models.

The same models validate requests, shape answers and make ``/openapi.json`` (see
``api/contract.py`` for how a route names them).
"""
