"""RunStream: one Run stream's receive, apply and send on separate threads (server/gradwire_server/runstream.py)."""

import contextlib
import threading
import time

import pytest

from gradwire.v1 import gradwire_pb2 as pb
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


def stream(requests, apply_batch=echo, work=None, replies_along=False):
    work = work or Work()
    run = RunStream(iter(requests), apply_batch, work.begin, work.end, contextlib.nullcontext, "test", replies_along=replies_along)
    return run, work


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


def test_replies_come_in_order_and_the_stream_ends_with_its_requests():
    run, work = stream(pb.Batch(seq=n) for n in range(1, 6))
    replies = [(r.seq, r.partial) for r in run.replies()]
    assert replies == [(n, partial) for n in range(1, 6) for partial in (True, False)]
    assert work.begun == 5 and work.busy == 0


def test_full_replies_that_answer_nothing_ride_with_the_next_early_answer():
    def pipelined(batch):  # as a pipelining client: the next batch (or the stream's end) is there before this one is done
        yield pb.BatchReply(seq=batch.seq, partial=True)
        wait_until(lambda: run._inbox.qsize())
        yield pb.BatchReply(seq=batch.seq)

    run, work = stream([pb.Batch(seq=n) for n in range(1, 6)], pipelined, replies_along=True)
    sent = list(run.replies())
    # batches 2-5's early answers each carry the full reply before; the last goes alone at the end
    assert [(r.seq, r.partial, [e.seq for e in r.earlier]) for r in sent] == [
        (1, True, []), (2, True, [1]), (3, True, [2]), (4, True, [3]), (5, True, [4]), (5, False, [])]
    assert read_as_the_sdk_does(sent) == [(n, partial) for n in range(1, 6) for partial in (True, False)]
    assert work.begun == 5 and work.busy == 0


def test_replies_that_answer_something_or_have_nothing_after_them_go_on_their_own():
    def answering(batch):
        yield pb.BatchReply(seq=batch.seq, partial=True)
        yield pb.BatchReply(seq=batch.seq, results=[pb.Result(command=batch.seq)])  # a sync's answer, say

    run, work = stream([pb.Batch(seq=n) for n in range(1, 4)], answering, replies_along=True)
    assert [(r.seq, r.partial, len(r.earlier)) for r in run.replies()] == [
        (n, partial, 0) for n in range(1, 4) for partial in (True, False)]
    run, work = stream([pb.Batch(seq=1)], replies_along=True)  # nothing after it: the full reply is not held
    assert [(r.seq, r.partial, len(r.earlier)) for r in run.replies()] == [(1, True, 0), (1, False, 0)]
    assert work.busy == 0


def test_a_client_that_does_not_ask_gets_every_reply_on_its_own():
    run, work = stream([pb.Batch(seq=n) for n in range(1, 6)])
    assert all(not r.earlier for r in run.replies()) and work.busy == 0


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
    replies.close()  # the client is gone: the rest are applied (exactly once) and dropped
    wait_until(lambda: work.begun == 3 and work.busy == 0)
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
    replies = run.replies()
    threading.Thread(target=lambda: next(replies), daemon=True).start()  # starts the threads
    time.sleep(0.3)
    assert len(read) <= 3  # one applied, one waiting, one held by the receiver: gRPC's flow control does the rest
    gate.set()
    wait_until(lambda: len(read) == 100)
    assert [r.seq for r in replies] == list(range(2, 101))
