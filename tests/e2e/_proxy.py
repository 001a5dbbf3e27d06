"""A TCP forwarder on loopback, between an SDK and a server, that can cut every connection at once.

``cut()`` resets every connection through it (both sides see a reset, as when a NAT
or a load balancer drops its state); new connections are forwarded as before.
``hold(up=..., down=...)`` stops forwarding one direction or both, so a test can
cut at a chosen moment: a batch that never reached the server, or one the server
applied whose reply never came back.
"""

from __future__ import annotations

import socket
import struct
import threading


class CutProxy:
    def __init__(self, upstream: str):
        host, port = upstream.rsplit(":", 1)
        self._upstream = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._pairs = []  # [client socket, server socket, alive flag (a list of one bool)]
        self._up = threading.Event()  # client -> server bytes flow
        self._down = threading.Event()  # server -> client bytes flow
        self._up.set()
        self._down.set()
        self._closed = False
        self.connections = 0  # accepted so far
        self.cuts = 0
        self._accepter = threading.Thread(target=self._accept, name="proxy-accept", daemon=True)
        self._accepter.start()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(self._upstream)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = [client, server, [True]]
            with self._lock:
                if self._closed:
                    client.close()
                    server.close()
                    return
                self._pairs.append(pair)
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, server, self._up, pair[2]), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, self._down, pair[2]), daemon=True).start()

    @staticmethod
    def _pump(src, dst, flowing, alive):
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                flowing.wait()
                if not alive[0]:
                    break  # cut while held: these bytes are lost, as on a dropped connection
                dst.sendall(data)
        except OSError:
            pass
        finally:
            alive[0] = False
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def hold(self, up=True, down=True):
        """Stop forwarding client -> server (``up``) and/or server -> client (``down``) bytes."""
        if up:
            self._up.clear()
        if down:
            self._down.clear()

    def release(self):
        self._up.set()
        self._down.set()

    def cut(self):
        """Reset every connection through the proxy now; bytes held are dropped. Forwarding resumes for new ones."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
            self.cuts += 1
        for client, server, alive in pairs:
            alive[0] = False
            for sock in (client, server):
                try:  # linger 0: close with a reset; shutdown first wakes the pump blocked in recv
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
        self.release()

    def close(self):
        with self._lock:
            self._closed = True
        self._listener.close()
        self.cut()
