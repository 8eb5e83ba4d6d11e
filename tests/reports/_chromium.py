"""Open a local HTML file in headless Chromium (Debian ``chromium``) over the DevTools protocol and
report what a reader would see: console errors, uncaught exceptions, failed loads, images that did
not decode, and the rendered page's size."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

__all__ = ["chromium_path", "inspect_page"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        exe = shutil.which(name)
        if exe:
            return exe
    return None


_PROBE = """JSON.stringify({
  title: document.title,
  h1: (document.querySelector('h1') || {}).textContent || '',
  images: Array.from(document.images).map(i => ({ok: i.complete && i.naturalWidth > 0,
                                                 w: i.naturalWidth, h: i.naturalHeight, alt: i.alt})),
  tables: document.querySelectorAll('table').length,
  // tables wider than the window whose container does not scroll them: their last columns are cut
  cut_tables: Array.from(document.querySelectorAll('table')).filter(t => {
    const w = document.documentElement.clientWidth + 1, p = t.parentElement;
    const scrolls = p && getComputedStyle(p).overflowX === 'auto' && p.getBoundingClientRect().right <= w;
    return t.getBoundingClientRect().right > w && !scrolls;
  }).length,
  scripts: document.scripts.length,
  height: document.body.scrollHeight
})"""


def inspect_page(path: Path, timeout: float = 60.0) -> dict:
    import websocket  # websocket-client (dev extra)

    exe = chromium_path()
    assert exe, "no chromium on PATH"
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen(
            [
                exe,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + timeout
            while not (port_file.exists() and port_file.read_text().strip()):
                assert time.monotonic() < deadline, "chromium did not start"
                time.sleep(0.1)
            port = int(port_file.read_text().split()[0])
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
            page = next(t for t in targets if t["type"] == "page")
            ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout)
            msg_id = 0

            def send(method: str, **params) -> int:
                nonlocal msg_id
                msg_id += 1
                ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
                return msg_id

            problems: list[str] = []
            results: dict[int, dict] = {}

            def pump(until) -> None:
                while not until():
                    assert time.monotonic() < deadline, "page did not finish loading"
                    m = json.loads(ws.recv())
                    if "id" in m:
                        results[m["id"]] = m
                        continue
                    method, p = m.get("method"), m.get("params", {})
                    if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
                        problems.append(f"console.{p['type']}: {p.get('args')}")
                    elif method == "Runtime.exceptionThrown":
                        problems.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
                    elif method == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
                        problems.append(f"log: {p['entry'].get('text')}")
                    elif method == "Network.loadingFailed":
                        problems.append(f"load failed: {p.get('errorText')}")
                    elif method == "Page.loadEventFired":
                        loaded.append(True)

            loaded: list[bool] = []
            for method in ("Runtime.enable", "Log.enable", "Page.enable", "Network.enable"):
                i = send(method)
                pump(lambda i=i: i in results)
            send("Page.navigate", url=path.resolve().as_uri())
            pump(lambda: bool(loaded))
            i = send("Runtime.evaluate", expression=_PROBE, returnByValue=True)
            pump(lambda: i in results)
            info = json.loads(results[i]["result"]["result"]["value"])
            time.sleep(0.3)  # late console messages
            ws.settimeout(0.5)
            try:
                pump(lambda: False)
            except (websocket.WebSocketTimeoutException, AssertionError):
                pass
            ws.close()
            info["problems"] = problems
            return info
        finally:
            # the browser and its zygote/renderer children (chromium may move itself to a new
            # process group, so the browser process is also signalled directly)
            for sig in (signal.SIGTERM, signal.SIGKILL):
                for kill in (lambda s: os.killpg(proc.pid, s), proc.send_signal):
                    try:
                        kill(sig)
                    except ProcessLookupError:
                        pass
                try:
                    proc.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    continue
