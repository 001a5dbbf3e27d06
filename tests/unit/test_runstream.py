"""RunStream: one Run stream, received on a thread of its own, applied and sent on the handler's thread
(server/gradwire_server/runstream.py), its replies yielded to gRPC or sent through a ReplySender."""

import contextlib
import threading
import time

import pytest

from gradwire.v1 import gradwire_pb2 as pb
from gradwire_server import runstream
from gradwire_server.runstream import RunStream


class Work:
    def __init__(self):
        self.lock = threading.Lock()
        self.busy = self.begun = 0

    def begin(self):
        with self.lock:
            self.busy += 1
            self.begun += 1

    def end(self):
        with self.lock:
            self.busy -= 1


def echo(batch):
    """Replies as the server's apply_batch gives them: an early answer, then the full reply."""
    yield pb.BatchReply(seq=batch.seq, partial=True)
    yield pb.BatchReply(seq=batch.seq)


class Sender:
    """A ReplySender's contract without gRPC: records each message; ``on_sent`` runs at once, or at ``finish()``
    when ``held``; after ``gone()`` every send is refused, as on a call the client left."""

    def __init__(self, held=False):
        self.sent, self.pending, self.held, self.open, self.waited = [], [], held, True, 0

    def send(self, data, on_sent=None):
        if not self.open:
            return False
        self.sent.append(pb.BatchReply.FromString(data))
        if on_sent is not None:
            self.pending.append(on_sent) if self.held else on_sent()
        return True

    def finish(self):
        while self.pending:
            self.pending.pop(0)()

    def gone(self):
        self.open = False

    def wait(self):
        self.waited += 1


def stream(requests, apply_batch=echo, work=None, replies_along=False, sender=None):
    work = work or Work()
    run = RunStream(iter(requests), apply_batch, work.begin, work.end, contextlib.nullcontext, "test",
                    replies_along=replies_along, sender=sender)
    return run, work


def all_replies(requests, apply_batch=echo, replies_along=False, sent_by="yield"):
    """Every reply of a stream in the order it went out, yielded to gRPC or sent through a Sender; and the Work."""
    sender = Sender() if sent_by == "sender" else None
    run, work = stream(requests, apply_batch, replies_along=replies_along, sender=sender)
    yielded = list(run.replies())
    if sender is None:
        return yielded, work
    assert not yielded and sender.waited == 1  # all through the sender, and the last one gone before the status
    return sender.sent, work


BOTH = pytest.mark.parametrize("sent_by", ["yield", "sender"])


def read_as_the_sdk_does(replies):
    """(seq, partial) of every reply in the order the SDK takes them: the ones carried first."""
    taken = []

    def take(reply):
        for earlier in reply.earlier:
            take(earlier)
        taken.append((reply.seq, reply.partial))

    for reply in replies:
        take(reply)
    return taken


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.002)


@BOTH
def test_replies_come_in_order_and_the_stream_ends_with_its_requests(sent_by):
    sent, work = all_replies((pb.Batch(seq=n) for n in range(1, 6)), sent_by=sent_by)
    replies = [(r.seq, r.partial) for r in sent]
    assert replies == [(n, partial) for n in range(1, 6) for partial in (True, False)]
    assert work.begun == 5 and work.busy == 0


@BOTH
def test_full_replies_that_answer_nothing_ride_with_the_next_early_answer(sent_by):
    def pipelined(batch):  # as a pipelining client: the next batch (or the stream's end) is there before this one is done
        yield pb.BatchReply(seq=batch.seq, partial=True)
        wait_until(lambda: run._inbox.qsize())
        yield pb.BatchReply(seq=batch.seq)

    sender = Sender() if sent_by == "sender" else None
    run, work = stream([pb.Batch(seq=n) for n in range(1, 6)], pipelined, replies_along=True, sender=sender)
    sent = list(run.replies())
    sent = sent if sender is None else sender.sent
    # batches 2-5's early answers each carry the full reply before; the last goes alone at the end
    assert [(r.seq, r.partial, [e.seq for e in r.earlier]) for r in sent] == [
        (1, True, []), (2, True, [1]), (3, True, [2]), (4, True, [3]), (5, True, [4]), (5, False, [])]
    assert read_as_the_sdk_does(sent) == [(n, partial) for n in range(1, 6) for partial in (True, False)]
    assert work.begun == 5 and work.busy == 0


@BOTH
def test_replies_that_answer_something_or_have_nothing_after_them_go_on_their_own(sent_by):
    def answering(batch):
        yield pb.BatchReply(seq=batch.seq, partial=True)
        yield pb.BatchReply(seq=batch.seq, results=[pb.Result(command=batch.seq)])  # a sync's answer, say

    sent, work = all_replies([pb.Batch(seq=n) for n in range(1, 4)], answering, replies_along=True, sent_by=sent_by)
    assert [(r.seq, r.partial, len(r.earlier)) for r in sent] == [
        (n, partial, 0) for n in range(1, 4) for partial in (True, False)]
    sent, work = all_replies([pb.Batch(seq=1)], replies_along=True, sent_by=sent_by)  # nothing after it: not held
    assert [(r.seq, r.partial, len(r.earlier)) for r in sent] == [(1, True, 0), (1, False, 0)]
    assert work.busy == 0


@BOTH
def test_a_client_that_does_not_ask_gets_every_reply_on_its_own(sent_by):
    sent, work = all_replies([pb.Batch(seq=n) for n in range(1, 6)], sent_by=sent_by)
    assert len(sent) == 10 and all(not r.earlier for r in sent) and work.busy == 0


def test_a_batch_is_under_way_until_its_full_reply_has_gone():
    sender = Sender(held=True)  # the sends complete later, on gRPC's polling thread
    run, work = stream([pb.Batch(seq=1), pb.Batch(seq=2)], sender=sender)
    assert list(run.replies()) == []
    assert work.begun == 2 and work.busy == 2  # both full replies still on their way: a shutdown waits for them
    sender.finish()
    assert work.busy == 0


def test_a_sender_that_finds_the_client_gone_ends_the_stream_and_its_batch():
    sender = Sender()

    def leaving(batch):
        yield pb.BatchReply(seq=batch.seq, partial=True)
        sender.gone()  # the client left while the batch ran
        yield pb.BatchReply(seq=batch.seq)

    run, work = stream([pb.Batch(seq=n) for n in range(1, 4)], leaving, sender=sender)
    assert list(run.replies()) == []
    assert [(r.seq, r.partial) for r in sender.sent] == [(1, True)]
    assert work.begun == 1 and work.busy == 0 and sender.waited == 1
    wait_until(lambda: not any(t.name.startswith("test-") for t in threading.enumerate()))


def test_an_error_reading_requests_reaches_the_handler_after_the_batches_before_it():
    def requests():
        yield pb.Batch(seq=1)
        raise ValueError("malformed batch")

    run, work = stream(requests())
    replies = run.replies()
    assert [next(replies).seq, next(replies).seq] == [1, 1]
    with pytest.raises(ValueError, match="malformed batch"):
        next(replies)
    assert work.busy == 0


def test_an_error_applying_a_batch_ends_the_stream_and_the_batch_counts_as_over():
    def failing(batch):
        yield pb.BatchReply(seq=batch.seq, partial=True)
        raise RuntimeError("session ended")

    run, work = stream([pb.Batch(seq=1), pb.Batch(seq=2)], failing)
    replies = run.replies()
    assert next(replies).partial
    with pytest.raises(RuntimeError, match="session ended"):
        next(replies)
    assert work.begun == 1 and work.busy == 0  # batch 2 never started


def test_full_replies_held_for_a_batch_that_fails_go_out_before_the_error():
    def held_then_failing(batch):
        if batch.seq == 2:
            raise RuntimeError("session ended")
        yield pb.BatchReply(seq=batch.seq, partial=True)
        wait_until(lambda: run._inbox.qsize())
        yield pb.BatchReply(seq=batch.seq)  # held: batch 2 is already here

    sender = Sender()
    run, work = stream([pb.Batch(seq=1), pb.Batch(seq=2)], held_then_failing, replies_along=True, sender=sender)
    with pytest.raises(RuntimeError, match="session ended"):
        list(run.replies())
    assert [(r.seq, r.partial) for r in sender.sent] == [(1, True), (1, False)]
    assert work.begun == 2 and work.busy == 0


@pytest.mark.parametrize("replies_along", [False, True])
def test_a_handler_that_stops_listening_leaves_no_batch_counted_as_under_way(replies_along):
    gate = threading.Event()

    def slow(batch):
        gate.wait(5)
        yield pb.BatchReply(seq=batch.seq, partial=True)
        yield pb.BatchReply(seq=batch.seq)  # answers nothing: held for the next early answer where asked

    run, work = stream([pb.Batch(seq=n) for n in range(1, 4)], slow, replies_along=replies_along)
    replies = run.replies()
    gate.set()
    assert next(replies).seq == 1
    replies.close()  # the client is gone: the batches not applied stay so (a client that comes back resends them)
    assert work.begun == 1 and work.busy == 0
    wait_until(lambda: not any(t.name.startswith("test-") for t in threading.enumerate()))


def test_the_receiver_reads_at_most_one_batch_ahead_of_the_worker():
    gate, read = threading.Event(), []

    def requests():
        for n in range(1, 101):
            read.append(n)
            yield pb.Batch(seq=n)

    def blocked(batch):
        gate.wait(5)
        yield pb.BatchReply(seq=batch.seq)

    run, _ = stream(requests(), blocked)
    replies = []
    handler = threading.Thread(target=lambda: replies.extend(run.replies()), daemon=True)  # gRPC's thread for the call
    handler.start()
    time.sleep(0.3)
    assert len(read) <= 3  # one applied, one waiting, one held by the receiver: gRPC's flow control does the rest
    gate.set()
    handler.join(5)
    assert len(read) == 100 and [r.seq for r in replies] == list(range(1, 101))


def test_a_full_reply_waits_a_moment_for_the_next_batch_to_ride_with(monkeypatch):
    monkeypatch.setattr(runstream, "_ACK_DELAY_S", 5.0)  # longer than the test can take: only the next batch ends the wait
    next_batch = threading.Event()

    def requests():
        yield pb.Batch(seq=1)
        next_batch.wait(5)  # the client's next step: it comes once batch 1 is done, not before
        yield pb.Batch(seq=2)

    def finishing(batch):
        yield pb.BatchReply(seq=batch.seq, partial=True)
        next_batch.set()
        yield pb.BatchReply(seq=batch.seq)

    sender = Sender()
    run, work = stream(requests(), finishing, replies_along=True, sender=sender)
    assert list(run.replies()) == []
    assert [(r.seq, r.partial, [e.seq for e in r.earlier]) for r in sender.sent] == [(1, True, []), (2, True, [1]), (2, False, [])]
    assert work.busy == 0


def test_a_full_reply_goes_alone_when_no_batch_comes_in_time(monkeypatch):
    monkeypatch.setattr(runstream, "_ACK_DELAY_S", 0.05)
    full_sent = threading.Event()

    class Watching(Sender):
        def send(self, data, on_sent=None):
            sent = super().send(data, on_sent)
            if not pb.BatchReply.FromString(data).partial:
                full_sent.set()
            return sent

    def requests():
        yield pb.Batch(seq=1)
        full_sent.wait(5)  # a client that waits for batch 1's acknowledgement before it sends more
        yield pb.Batch(seq=2)

    sender = Watching()
    run, work = stream(requests(), replies_along=True, sender=sender)
    started = time.monotonic()
    assert list(run.replies()) == [] and full_sent.is_set()
    assert [(r.seq, r.partial, len(r.earlier)) for r in sender.sent] == [(1, True, 0), (1, False, 0), (2, True, 0), (2, False, 0)]
    assert time.monotonic() - started < 5  # it went after the short wait, not when the client gave up
    assert work.busy == 0


def test_a_full_reply_is_sent_and_waits_with_the_batch_over(monkeypatch):
    # the server's apply_batch holds the session's lock while it runs: a reply waiting for the next batch must not
    monkeypatch.setattr(runstream, "_ACK_DELAY_S", 0.05)
    lock, locked_at_send = threading.Lock(), []

    def locked(batch):
        with lock:
            yield pb.BatchReply(seq=batch.seq, partial=True)
            yield pb.BatchReply(seq=batch.seq)

    class Watching(Sender):
        def send(self, data, on_sent=None):
            locked_at_send.append((pb.BatchReply.FromString(data).partial, lock.locked()))
            return super().send(data, on_sent)

    run, work = stream([pb.Batch(seq=1)], locked, replies_along=True, sender=Watching())
    assert list(run.replies()) == []
    assert locked_at_send == [(True, True), (False, False)]  # the early answer from inside the batch, the full reply after it
    assert work.busy == 0


def test_a_batch_that_fails_after_its_full_reply_is_over_all_the_same():
    def failing_late(batch):
        yield pb.BatchReply(seq=batch.seq)
        raise RuntimeError("metrics failed")

    run, work = stream([pb.Batch(seq=1)], failing_late, sender=Sender())
    with pytest.raises(RuntimeError, match="metrics failed"):
        list(run.replies())
    assert work.begun == 1 and work.busy == 0
