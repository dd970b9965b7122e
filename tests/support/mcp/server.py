"""A real MCP server for Stackwarden's tests: the official Python SDK
(`mcp` on PyPI, MCPServer, formerly FastMCP) with five tools, over
streamable HTTP at /mcp, and a plain GET /health beside it.

    python server.py [PORT]

Binds 127.0.0.1:PORT (0 or none: a free port), prints `PORT <n>` on one
line, then serves until killed.
"""

import socket
import sys

import uvicorn
from mcp.server.mcpserver import MCPServer
from starlette.requests import Request
from starlette.responses import JSONResponse

server = MCPServer(name="aidb-test", version="1.2.3")


@server.tool()
def search_documents(query: str, limit: int = 5) -> list[str]:
    """Finds documents like the query."""
    return [f"{query} #{i}" for i in range(limit)]


@server.tool()
def add_document(title: str, text: str) -> str:
    """Stores a document."""
    return f"stored {title} ({len(text)} characters)"


@server.tool()
def list_collections() -> list[str]:
    """Names the vector collections."""
    return ["documents", "skills"]


@server.tool()
def get_tool_registry() -> dict[str, int]:
    """Counts the registered tools."""
    return {"tools": 5}


@server.tool()
def record_event(name: str) -> str:
    """Writes a telemetry event."""
    return f"recorded {name}"


@server.custom_route("/health", methods=["GET"])
async def health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "service": "aidb-test"})


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    # Listening before the port is said: an early client waits in the
    # backlog until uvicorn accepts, instead of being refused.
    sock.listen(64)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    app = server.streamable_http_app()
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


if __name__ == "__main__":
    main()
