"""The servers: REST (``rest.create_app``) and MCP (``mcp.build_server``), both thin over
``Memory``, with API keys mapped to tenants (``auth``).

Importing this package loads nothing heavy; FastAPI, uvicorn and the MCP SDK come with the
``server`` extra (``pip install 'memstrata[server]'``) and are imported by the modules that need
them.
"""

#: The largest request body the REST server accepts by default, in bytes (413 beyond it).
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
#: The largest JSON Lines body ``POST /v1/import`` reads by default, in bytes (413 beyond it); each
#: of its lines is bounded by the body limit instead.
DEFAULT_MAX_IMPORT_BYTES = 1024 * 1024 * 1024
