"""One Run stream on two threads: one receives batches ahead, the handler's own thread applies and sends.

gRPC's synchronous server blocks a thread for every message it receives (``next()`` on the
request iterator: gRPC's polling thread must take the message and wake the reader). A
receiver thread does that while the worker applies the batch before, so the next batch is
there when the worker is free.

The worker is the handler's thread, so an early answer goes out from the thread that made
it, with no hand-over to another thread (each wake of a thread costs tens of microseconds on
a small machine, and the woken thread then waits for the GIL). With a ``ReplySender``
(``replysend.py``) the worker starts each send and goes straight on with the batch: the
backward pass runs while the early answer travels. Without one (a grpcio whose private layer
differs), the stream yields its replies to gRPC, which holds the worker until each is sent.

At most one received batch waits for the worker (the inbox's one slot): past that the receiver
stops reading and gRPC's flow control holds the client back, so a stream holds at most
three messages on the server (one applied, one waiting, one being read).
"""

from __future__ import annotations

import queue
import threading

_END = object()  # the client closed its side of the stream: no more batches
_RETRY_S = 0.5  # how often a blocked receiver looks whether the worker has stopped
# How long a full reply that answers nothing waits for the next batch to ride with (as TCP delays an ACK): in a
# training loop the client's next step comes a few tens of microseconds after the server finishes the last one, and
# a send of its own costs the worker about 50 us; a client that waits for the reply itself waits this much longer.
_ACK_DELAY_S = 0.0005


class RunStream:
    """The replies of one Run stream: iterate ``replies()`` on the handler's thread, which applies the batches.

    ``apply_batch(batch)`` yields a batch's replies (early answers, then the full reply).
    ``begin_work()`` and ``end_work()`` bracket each batch: it counts as work under way
    from the moment the worker takes it until its full reply is sent, or dropped because
    the client is gone, so a shutdown can wait for it. ``scope()`` is entered on the
    receiver's thread (the call's log fields). With ``replies_along`` (a client that reads
    ``BatchReply.earlier``), a full reply that answers nothing waits for the next reply and
    rides with it, when the next batch comes within ``_ACK_DELAY_S`` to make one. With ``sender`` (a
    ``replysend.ReplySender``) the replies are sent through it and ``replies()`` yields none.
    """

    def __init__(self, requests, apply_batch, begin_work, end_work, scope, name: str, replies_along=False, sender=None):
        self._requests = requests
        self._apply_batch = apply_batch
        self._begin_work, self._end_work = begin_work, end_work
        self._scope = scope
        # the inbox and its one slot: the receiver takes the slot to put a batch in, the worker frees it as it takes one
        # out (a C-level queue and lock: Queue(1)'s Python conditions cost the worker's GIL more, batch after batch)
        self._inbox = queue.SimpleQueue()
        self._slot = threading.Lock()
        self._worker_done = threading.Event()
        self._replies_along = replies_along
        self._sender = sender
        self._held = []  # full replies waiting to ride with the next one
        self._peeked = None  # the receiver's next item, taken out early to see whether one has come
        self._receiver = threading.Thread(target=self._receive, name=f"{name}-receive", daemon=True)

    def replies(self):
        """Apply each batch as it comes and send (or yield) its replies; raise the error that ended the stream, if one did."""
        self._receiver.start()
        try:
            try:
                while (batch := self._take()) is not _END:
                    if isinstance(batch, BaseException):
                        raise batch
                    if not (yield from self._apply_one(batch)):
                        return  # the client is gone
            except GeneratorExit:  # gRPC closed the stream: nobody to send to
                raise
            except BaseException:
                yield from self._send_all(self._held)  # the full replies before the error go first
                raise
            yield from self._send_all(self._held)  # no batch comes after them to carry them
        finally:
            self._worker_done.set()
            self._drop(self._held)
            if self._sender is not None:
                self._sender.wait()  # gRPC sends the call's status once the handler returns: the replies go first

    def _take(self, timeout=None):
        """The receiver's next item (a batch, _END or the error that ended the requests); None if ``timeout`` passed first."""
        item, self._peeked = self._peeked, None
        if item is None:
            try:
                item = self._inbox.get(timeout=timeout)
            except queue.Empty:
                return None
            self._slot.release()  # room for the next batch: the receiver reads it while this one runs
        return item

    def _next_is_here(self) -> bool:
        """Whether the next batch (or the stream's end) has come, waiting for it up to _ACK_DELAY_S."""
        if self._peeked is None:
            self._peeked = self._take(_ACK_DELAY_S)
        return self._peeked is not None

    def _apply_one(self, batch):
        """Apply one batch and send its replies; False if the client is gone."""
        self._begin_work()
        final = None
        try:
            for reply in self._apply_batch(batch):
                if not reply.partial:
                    final = reply  # sent once the batch is over and its session free (below)
                    continue
                if self._held:  # an early answer is made for this send alone: it carries them
                    reply.earlier.extend(self._held)
                    self._held.clear()
                if not (yield from self._send(reply)):
                    return False
        except BaseException:
            if final is not None:  # failed after its full reply was made: nobody will send it
                self._drop([final])
            raise
        finally:
            if final is None:  # refused, failed or left before its full reply: no send to wait for
                self._end_work()
        if self._held and not (yield from self._send_all(self._held)):  # a full reply may be the one the session
            self._drop([final])                                          # keeps for a resend: never changed
            return False
        if self._replies_along and not final.results and self._next_is_here():
            self._held.append(final)  # the next batch's early answer will carry it
            return True
        return (yield from self._send(final))

    def _send_all(self, replies):
        sent = True
        while replies and sent:
            sent = yield from self._send(replies.pop(0))
        self._drop(replies)
        return sent

    def _send(self, reply):
        """Send one reply; the batches whose full replies it is or carries are over once it has gone. False if the
        client is gone (those batches are over all the same)."""
        ended = (0 if reply.partial else 1) + len(reply.earlier)
        if self._sender is None:
            sent = False
            try:
                yield reply  # gRPC sends it before it asks for the next one
                sent = True
            finally:  # sent, or the client is gone (the generator closed here)
                self._end_batches(ended)
            return sent
        if self._sender.send(reply.SerializeToString(), (lambda: self._end_batches(ended)) if ended else None):
            return True
        self._end_batches(ended)
        return False

    def _drop(self, replies):
        """Replies nobody will send: their batches are over all the same."""
        for reply in replies:
            self._end_batches((0 if reply.partial else 1) + len(reply.earlier))
        replies.clear()

    def _end_batches(self, count: int):
        for _ in range(count):
            self._end_work()

    # --- the receiver thread ----------------------------------------------------------
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
