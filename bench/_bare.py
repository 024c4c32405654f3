"""The baseline of the click-to-wire benchmark: bare clients in a process of their own, sending
the same close the app sends, straight from the venues' documentation: a ``websockets`` client
for QFEX (HMAC auth, ``add_order`` MARKET IOC reduce-only) and an ``httpx`` client for
Everstrike (a signed form ``POST /auth/close``). Nothing of Closeout's client code is used.

Driven one JSON line at a time over stdin/stdout; each command sends ``n`` closes one after
the other (each waits for the venue's answer before the next, as the app does) and answers
with the ``time.time()`` just before each send:

    {"op": "qfex", "url": "ws://…", "key": "…", "secret": "…", "symbol": "AAPL-USD", "n": 10}
    {"op": "everstrike", "rest": "http://…", "key": "…", "secret": "…", "pair": "…", "n": 10}
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
from typing import Any
from urllib.parse import urlencode

from bench._pipe import PipeProcess


class Bare:
    def __init__(self) -> None:
        self._qfex: dict[tuple[str, str], Any] = {}
        self._http: Any = None

    async def qfex(self, url: str, key: str, secret: str, symbol: str, n: int) -> list[float]:
        import websockets

        ws = self._qfex.get((url, key))
        if ws is None:
            ws = await websockets.connect(f"{url}?api_key={key}")
            nonce, ts = secrets.token_hex(16), int(time.time())
            sig = hmac.new(secret.encode(), f"{nonce}:{ts}".encode(), hashlib.sha256).hexdigest()
            await ws.send(json.dumps({"type": "auth", "params": {"hmac": {
                "public_key": key, "nonce": nonce, "unix_ts": ts, "signature": sig}}}))
            if json.loads(await ws.recv()) != {"authenticated": True}:
                raise RuntimeError("QFEX auth refused")
            await ws.send('{"type":"subscribe","params":{"channels":["order_responses"]}}')
            await ws.recv()
            self._qfex[url, key] = ws
        out = []
        for _ in range(n):
            cid = f"bare-{secrets.token_hex(8)}"
            frame = json.dumps({"type": "add_order", "params": {
                "symbol": symbol, "side": "SELL", "order_type": "MARKET",
                "order_time_in_force": "IOC", "quantity": 1, "price": 0,
                "reduce_only": True, "client_order_id": cid}}, separators=(",", ":"))
            out.append(time.time())
            await ws.send(frame)
            while True:  # the final reply, before the next send
                reply = json.loads(await ws.recv())
                resp = reply.get("order_response", {}) if isinstance(reply, dict) else {}
                if resp.get("client_order_id") == cid and resp.get("status") != "ACK":
                    break
        return out

    async def everstrike(self, rest: str, key: str, secret: str, pair: str,
                         n: int) -> list[float]:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient(base_url=rest)
        out = []
        for _ in range(n):
            body = urlencode([("pair", pair), ("qty", "1"),
                              ("timestamp", str(int(time.time() * 1000))),
                              ("recv_window", "5000")])
            sig = base64.b64encode(hmac.new(secret.encode(), body.encode(),
                                            hashlib.sha256).digest()).decode()
            headers = {"content-type": "application/x-www-form-urlencoded",
                       "x-api-key": key, "x-signature": sig}
            out.append(time.time())
            reply = await self._http.post("/auth/close", content=body.encode(), headers=headers)
            if reply.status_code != 200:
                raise RuntimeError(f"Everstrike close refused: {reply.status_code} {reply.text}")
        return out

    async def close(self) -> None:
        for ws in self._qfex.values():
            await ws.close()
        if self._http is not None:
            await self._http.aclose()


async def _serve() -> None:
    bare = Bare()
    loop = asyncio.get_running_loop()
    try:
        while True:  # read commands off the loop, so the sockets stay served meanwhile
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            cmd = json.loads(line)
            op = cmd.pop("op")
            try:
                if op == "qfex":
                    reply: dict[str, Any] = {"sent": await bare.qfex(**cmd)}
                elif op == "everstrike":
                    reply = {"sent": await bare.everstrike(**cmd)}
                elif op == "stop":
                    return
                else:
                    reply = {"error": f"unknown op {op!r}"}
            except Exception as exc:
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
    finally:
        await bare.close()


class BareProcess(PipeProcess):
    """The parent's handle (blocking calls: use them only between timed spans)."""

    def __init__(self) -> None:
        super().__init__("bench._bare")

    def send(self, op: str, **cmd: Any) -> list[float]:
        return [float(t) for t in self.ask(op=op, **cmd)["sent"]]


if __name__ == "__main__":
    asyncio.run(_serve())
