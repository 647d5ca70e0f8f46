"""JSON API under ``/api/v1`` with an OpenAPI 3.1 document."""
