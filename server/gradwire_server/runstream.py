"""One Run stream on three threads: receive, apply, send, so a batch never waits on the network.

gRPC's synchronous server blocks the handler's thread for every message it receives
(``next()`` on the request iterator) and every message it sends (the ``yield``), each
a hand-off to gRPC's polling thread: 0.15-0.25 ms apiece on a small machine, three
times per training step (the batch, the early answer, the full reply). Served on one
thread, those waits add to the engine's time. Here a receiver thread reads batches
ahead, a worker applies them in order, and the handler's own thread sends the replies,
so the engine runs while the transport moves the neighbouring messages.

An early answer is the one reply a client waits for: the worker stands aside until the
handler's thread has taken it, so the send starts at once instead of when the worker next
releases the GIL.

At most one received batch waits for the worker (the inbox's one slot): past that the receiver
stops reading and gRPC's flow control holds the client back, so a stream holds at most
three messages on the server (one applied, one waiting, one being read).
"""

from __future__ import annotations

import queue
import threading

from gradwire.v1 import gradwire_pb2 as pb

_END = object()  # the client closed its side of the stream: no more batches
_RETRY_S = 0.5  # how often a blocked receiver looks whether the worker has stopped
_HANDOVER_S = 0.0005  # the longest the worker stands aside for an early answer (see _apply_one)


class RunStream:
    """The replies of one Run stream, made on worker threads; iterate ``replies()`` on the handler's thread.

    ``apply_batch(batch)`` yields a batch's replies (early answers, then the full reply).
    ``begin_work()`` and ``end_work()`` bracket each batch: it counts as work under way
    from the moment the worker takes it until its full reply is sent, or dropped because
    the client is gone, so a shutdown can wait for it. ``scope()`` is entered on each
    worker thread (the call's log fields). With ``replies_along`` (a client that reads
    ``BatchReply.earlier``), a full reply that answers nothing waits for the next reply and
    rides with it, when the next batch is already here to make one.
    """

    def __init__(self, requests, apply_batch, begin_work, end_work, scope, name: str, replies_along=False):
        self._requests = requests
        self._apply_batch = apply_batch
        self._begin_work, self._end_work = begin_work, end_work
        self._scope = scope
        # the inbox and its one slot: the receiver takes the slot to put a batch in, the worker frees it as it takes one
        # out (a C-level queue and lock: Queue(1)'s Python conditions cost the worker's GIL more, batch after batch)
        self._inbox = queue.SimpleQueue()
        self._slot = threading.Lock()
        self._outbox = queue.SimpleQueue()
        self._lock = threading.Lock()  # between the worker's handing over and the handler's leaving
        self._sender_gone = False
        self._worker_done = threading.Event()
        self._handler_idle = False  # the handler's thread is waiting for the next reply
        self._taken = threading.Event()  # ... and has just taken one
        self._replies_along = replies_along
        self._held = []  # full replies waiting to ride with the next one (the worker's)
        self._threads = (
            threading.Thread(target=self._receive, name=f"{name}-receive", daemon=True),
            threading.Thread(target=self._apply, name=f"{name}-apply", daemon=True),
        )

    def replies(self):
        """Yield each reply as the worker makes it; raise the error that ended the stream, if one did."""
        for thread in self._threads:
            thread.start()
        try:
            while True:
                self._handler_idle = True
                item = self._outbox.get()
                self._handler_idle = False
                self._taken.set()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                try:
                    yield item
                finally:  # sent, or the client is gone (the generator closed here)
                    self._end_batches(item)
        finally:
            with self._lock:
                self._sender_gone = True
                while True:  # replies nobody will send: their batches are over all the same
                    try:
                        item = self._outbox.get_nowait()
                    except queue.Empty:
                        break
                    if type(item) is pb.BatchReply:
                        self._end_batches(item)

    def _end_batches(self, reply: pb.BatchReply):
        """The batches whose full replies ``reply`` is or carries are over."""
        for _ in range((0 if reply.partial else 1) + len(reply.earlier)):
            self._end_work()

    # --- the worker threads ----------------------------------------------------------
    def _receive(self):
        with self._scope():
            try:
                for batch in self._requests:
                    if not self._hand_over(batch):
                        return
            except BaseException as error:  # the client cancelled, the server stopped, a malformed batch
                self._hand_over(error)
            else:
                self._hand_over(_END)

    def _hand_over(self, item) -> bool:
        """Put ``item`` in the inbox once there is room; False if the worker has stopped taking them."""
        while not self._worker_done.is_set():
            if self._slot.acquire(timeout=_RETRY_S):
                self._inbox.put(item)
                return True
        return False

    def _apply(self):
        with self._scope():
            try:
                while True:
                    batch = self._inbox.get()
                    self._slot.release()  # room for the next batch: the receiver reads it while this one runs
                    if batch is _END:
                        break
                    if isinstance(batch, BaseException):
                        raise batch
                    self._apply_one(batch)
            except BaseException as error:
                self._send_held()
                self._send(error)
            else:
                self._send_held()
                self._send(_END)
            finally:
                self._worker_done.set()

    def _apply_one(self, batch):
        self._begin_work()
        final_handed = False
        try:
            for reply in self._apply_batch(batch):
                final_handed = not reply.partial
                if self._held:
                    if reply.partial:  # an early answer is made for this send alone: it carries them
                        reply.earlier.extend(self._held)
                        self._held.clear()
                    else:  # a full reply may be the one the session keeps for a resend: never changed
                        self._send_held()
                if final_handed and self._replies_along and not reply.results and self._inbox.qsize():
                    self._held.append(reply)  # the next batch's early answer will carry it
                    continue
                # An early answer is what the client waits for. The handler's thread wakes to send it,
                # but then waits for the GIL until this thread next lets go of it (the next large
                # NumPy call, 0.1-0.2 ms into the backward pass): stand aside until it has the reply.
                hand_over = reply.partial and self._handler_idle
                if hand_over:
                    self._taken.clear()
                self._send(reply)
                if hand_over:
                    self._taken.wait(_HANDOVER_S)
        finally:
            if not final_handed:  # refused or failed before its full reply: no send to wait for
                self._end_work()

    def _send_held(self):
        """The held full replies on their own: no batch comes after them to carry them."""
        for reply in self._held:
            self._send(reply)
        self._held.clear()

    def _send(self, item):
        with self._lock:
            if not self._sender_gone:
                self._outbox.put(item)
            elif type(item) is pb.BatchReply:
                self._end_batches(item)
