"""Faults a shared server meets: cut connections, clients that vanish, one session hogging the CPU, SIGTERM.

Bounded in count and time; every server binds port 0 on loopback and is stopped by its test.
Nothing here asserts a duration: where an order of events matters, the test watches the
server's state (a session's lock, its applied batches, its live streams) instead.
"""

from __future__ import annotations

import _thread
import gc
import signal
import subprocess
import sys
import textwrap
import threading
import time
import weakref

import numpy as np
import pytest

import gradwire as gw
from tests.servers import start_server
from tests.e2e._proxy import CutProxy
from tests.e2e.test_cli import EXIT_S, Call, ServerProcess
from tests.training import train

STEPS = 120
WAIT_S = 20.0  # the most any wait for a server-side state may take before the test fails


def wait_until(predicate, what, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.005)


@pytest.fixture
def own_server():
    """A server of this test's own (the faults must not touch the shared one), on port 0."""
    made = []

    def make(**config):
        server = start_server(device="cpu", **config)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop(0)


@pytest.fixture
def proxy_to():
    made = []

    def make(address):
        made.append(CutProxy(address))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


# --- exactly once over reconnects --------------------------------------------------------------


def test_training_through_a_cut_channel_gives_exactly_the_uncut_result(own_server, proxy_to):
    server = own_server()
    with gw.connect(server.address, timeout=10) as alone:
        expected, expected_losses = train(alone, seed=3, steps=STEPS)

    proxy = proxy_to(server.address)
    s = gw.connect(proxy.address, timeout=10)
    served = server.registry._sessions[s.id]
    kinds = []

    def cut(step):
        """Every 10 steps, cut the line in one of three ways, each of which a wrong resend would show."""
        if step % 10 != 5:
            return
        kind = ("reply lost", "batch lost", "idle")[len(kinds) % 3]
        kinds.append(kind)
        if kind == "reply lost":  # the server applies the batch, its reply never comes back
            proxy.hold(up=False, down=True)
            s._flush()
            assert s._sent > s._acked
            wait_until(lambda: served.applied_seq == s._sent, "the held batch's application")
        elif kind == "batch lost":  # the batch never reaches the server
            proxy.hold(up=True, down=False)
            s._flush()
            assert served.applied_seq < s._sent
        else:  # between batches: the break shows when the next batch goes out
            s.sync()
        proxy.cut()
        if kind == "idle":
            s.sync()  # the stream is live again for the next "reply lost", which needs the server to get its batch

    weights, losses = train(s, seed=3, steps=STEPS, after_step=cut)
    s.close()

    assert len(kinds) == STEPS // 10 and proxy.cuts == len(kinds)
    # a "reply lost" cut leaves the stream broken until the client next reads, after the "batch lost"
    # one: those two cost one reconnect, "idle" one more
    assert s.reconnects >= 2 * len(kinds) // 3, "every cut must have broken the stream and been mended"
    assert proxy.connections > 2 * len(kinds) // 3  # the stream came back over new connections
    # bit for bit: the same engine ran the same ops in the same order, each once
    for got, want in zip(weights, expected):
        np.testing.assert_array_equal(got, want)
    assert losses == expected_losses
    print(
        f"\ncut channel: {STEPS} steps, {len(kinds)} cuts ({', '.join(f'{kinds.count(k)} {k}' for k in dict.fromkeys(kinds))}),"
        f" {s.reconnects} reconnects over {proxy.connections} connections; weights bit-exact to the uncut run"
    )


@pytest.mark.parametrize("dedupe", [True, False])
def test_a_batch_applied_twice_would_show(own_server, proxy_to, dedupe):
    """The check above can fail: a server that ran a resent batch again would change the weights."""
    server = own_server()
    proxy = proxy_to(server.address)
    s = gw.connect(proxy.address, timeout=10)
    served = server.registry._sessions[s.id]
    if not dedupe:  # a server without exactly-once: it runs whatever arrives
        served.apply_once = lambda batch, run, window: run(batch)
    w = s.tensor([1.0, 2.0], requires_grad=True)
    s.sync()
    proxy.hold(up=False, down=True)
    with gw.no_grad():
        w -= 0.5
    s._flush()
    wait_until(lambda: np.array_equal(served.tensors[w._handle].numpy(), [0.5, 1.5]), "the update's application")
    proxy.cut()  # the reply is lost: the SDK resends the batch
    assert w.detach().numpy().tolist() == ([0.5, 1.5] if dedupe else [0.0, 1.0])
    assert s.reconnects == 1
    s.close()


def test_sequence_numbers_must_follow_each_other(own_server):
    import grpc

    from gradwire.v1 import gradwire_pb2 as pb
    from gradwire.v1 import gradwire_pb2_grpc as pb_grpc
    from gradwire.wire import SESSION_HEADER, TOKEN_HEADER

    server = own_server()
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.GradwireStub(channel)
        token = stub.OpenSession(pb.OpenSessionRequest(session_id="seq-test"), timeout=10).token
        metadata = ((SESSION_HEADER, "seq-test"), (TOKEN_HEADER, token))

        def batch(seq):
            b = pb.Batch(seq=seq)
            command = b.commands.add()
            command.id = seq
            command.sync.SetInParent()
            return b

        replies = list(stub.Run(iter([batch(1), batch(2), batch(2), batch(1)]), metadata=metadata, timeout=10))
        assert [r.seq for r in replies] == [1, 2, 2, 1]  # resends answered from the window, in the order asked
        with pytest.raises(grpc.RpcError) as info:
            list(stub.Run(iter([batch(3), batch(5)]), metadata=metadata, timeout=10))
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "batch 5 of session seq-test is out of order: the next batch is 4" in info.value.details()
        assert server.registry._sessions["seq-test"].applied_seq == 3


def test_a_session_the_server_ended_is_not_reconnected(own_server, proxy_to):
    server = own_server()
    proxy = proxy_to(server.address)
    s = gw.connect(proxy.address, timeout=10)
    assert s.tensor([1.0]).item() == 1.0
    server.registry.end(server.registry._sessions[s.id], "closed by the client")
    proxy.cut()
    kind, error = Call(lambda: s.ones(1).numpy()).result(timeout=WAIT_S)
    assert kind == "error" and isinstance(error, gw.NotFoundError), repr(error)
    assert f"session {s.id}: closed by the client" in str(error)
    assert s.reconnects == 1  # one reconnect, told the session is gone, no more tries
    s.close()


def test_reconnecting_gives_up_with_a_clear_error(own_server, proxy_to):
    server = own_server()
    proxy = proxy_to(server.address)
    s = gw.connect(proxy.address, timeout=10, reconnect_timeout=1.0)
    assert s.tensor([1.0]).item() == 1.0
    proxy.close()  # the line is down for good: every connection attempt is refused
    kind, error = Call(lambda: s.ones(1).numpy()).result(timeout=WAIT_S)
    assert kind == "error" and isinstance(error, gw.UnavailableError), repr(error)
    assert f"the stream of session {s.id} to {proxy.address} broke and" in str(error)
    assert "reconnect attempt(s) over 1 s failed" in str(error)
    with pytest.raises(gw.UnavailableError, match="can no longer be used"):
        s.ones(1).numpy()
    s.close()


def test_a_silent_client_is_dropped_by_keepalive_and_comes_back(own_server, proxy_to):
    # A partition that drops packets closes nothing: only the server's keepalive pings, unanswered,
    # tell it the peer is gone. Its stream must end (its threads freed), its session must stay
    # for a reconnect, and the client must carry on once the line is back.
    server = own_server(keepalive_s=0.2)
    proxy = proxy_to(server.address)
    s = gw.connect(proxy.address, timeout=10)
    x = s.tensor(np.arange(4.0, dtype=np.float32), requires_grad=True)
    assert (x * 2).sum().item() == 12.0
    assert server.servicer.streams == 1
    proxy.hold()  # both directions: the server's pings reach nobody, and nothing is closed
    wait_until(lambda: server.servicer.streams == 0, "the silent client's stream ending by keepalive")
    assert s.id in server.registry._sessions  # kept for the client to reconnect to
    proxy.release()
    (x * x).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 4.0, 6.0]
    assert s.reconnects >= 1
    s.close()


def test_a_silent_server_is_noticed_by_the_sdks_keepalive_and_the_session_carries_on(own_server, proxy_to):
    # The other side of the partition: the SDK waits on a reply that cannot come, over a connection
    # nothing closes. Its keepalive pings, unanswered, must break that connection and start a
    # reconnect (without them it would wait until the line came back, or for ever); the reconnect
    # goes through once the line is back, and the pending read returns its value.
    server = own_server()  # the server's own keepalive (30 s) stays out of this test
    proxy = proxy_to(server.address)
    s = gw.connect(proxy.address, timeout=10, keepalive=0.2)
    x = s.tensor(np.arange(4.0, dtype=np.float32), requires_grad=True)
    assert (x * 2).sum().item() == 12.0
    proxy.hold()
    pending = Call(lambda: (x * x).sum().item())
    wait_until(lambda: proxy.connections >= 2, "the SDK giving up on the silent connection and dialling again")
    proxy.release()
    kind, value = pending.result(timeout=WAIT_S)
    assert (kind, value) == ("ok", 14.0)
    assert s.reconnects >= 1
    s.close()


def test_ctrl_c_at_a_sync_point_leaves_the_session_usable(own_server, proxy_to):
    # A KeyboardInterrupt in the middle of waiting for a reply breaks the stream's call (transport.RunCall):
    # the next sync opens a new stream and resends what is unacknowledged, as after a cut.
    server = own_server()
    proxy = proxy_to(server.address)
    s = gw.connect(proxy.address, timeout=10)
    x = s.tensor([1.0, 2.0])
    assert x.sum().item() == 3.0
    proxy.hold()  # the reply cannot come: the interrupt lands while the SDK waits for it
    # Python's own SIGINT handler, as a terminal's user has it: a process started in the background by a
    # non-interactive shell (CI) inherits SIGINT ignored, and interrupt_main() then does nothing
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    interrupt = threading.Timer(0.3, _thread.interrupt_main)
    interrupt.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            (x * 2).sum().item()
    finally:
        interrupt.join()
        signal.signal(signal.SIGINT, previous)
        proxy.release()
    assert (x * 3).tolist() == [3.0, 6.0]
    assert s.stats()["tensors"] == 1
    s.close()


def test_ctrl_c_during_a_download_leaves_the_session_usable(own_server, monkeypatch):
    # A download's chunks are read by the thread that asked for them, in gRPC's wait on the call's own queue
    # (the channel's SingleThreadedUnaryStream): an interrupt there abandons that call, and only that call.
    from gradwire.wire import encode_chunk
    from gradwire_server import servicer

    server = own_server()
    s = gw.connect(server.address, timeout=10)
    data = np.arange(3 << 20, dtype=np.float32)  # 12 MiB: twelve chunks on the Download stream
    x = s.tensor(data)
    held, go_on = threading.Event(), threading.Event()

    def slow_encode(offset, chunk):
        if offset == 4 << 20:  # the fifth chunk waits, so the SDK waits in gRPC for it
            held.set()
            go_on.wait(WAIT_S)
        return encode_chunk(offset, chunk)

    monkeypatch.setattr(servicer, "encode_chunk", slow_encode)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in the test above
    interrupt = threading.Thread(target=lambda: held.wait(WAIT_S) and (time.sleep(0.2), _thread.interrupt_main()))
    interrupt.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            x.numpy()
    finally:
        interrupt.join()
        signal.signal(signal.SIGINT, previous)
        go_on.set()
    monkeypatch.undo()
    np.testing.assert_array_equal(x.numpy(), data)  # the next download of the same tensor, whole
    assert (x[-1] * 2).item() == 2 * data[-1]  # and the session computes on
    s.close()


def test_keepalive_must_be_a_positive_number_of_seconds():
    for bad in (0, -1.0, float("nan"), float("inf"), "30"):
        with pytest.raises(gw.InvalidArgumentError, match="keepalive must be a positive number of seconds"):
            gw.connect("127.0.0.1:1", keepalive=bad)


@pytest.mark.parametrize("lost", ["upload", "reply"])
def test_a_cut_upload_is_sent_again_whole(own_server, proxy_to, lost):
    server = own_server()
    proxy = proxy_to(server.address)
    s = gw.connect(proxy.address, timeout=10)
    served = server.registry._sessions[s.id]
    data = np.arange(3 << 18, dtype=np.float32)  # 3 MiB: above inline_bytes, so it goes on the Upload stream
    handle = s._next_handle
    if lost == "upload":
        proxy.hold(up=True, down=False)  # the chunks stop half-way
    else:
        proxy.hold(up=False, down=True)  # the server binds the tensor; its reply does not come back
    upload = Call(lambda: s.tensor(data))
    if lost == "upload":
        time.sleep(0.2)  # the upload is under way, stuck in the proxy (no assertion rests on this)
        assert handle not in served.tensors
    else:
        wait_until(lambda: handle in served.tensors, "the upload's arrival")
    proxy.cut()
    kind, x = upload.result(timeout=WAIT_S)
    assert kind == "ok", repr(x)
    np.testing.assert_array_equal(x.numpy(), data)
    np.testing.assert_array_equal((x * 2).sum().item(), np.float32(data.sum() * 2))
    assert s.stats()["tensors"] == 1
    s.close()


# --- a client that vanishes --------------------------------------------------------------------

_DOOMED_CLIENT = textwrap.dedent(
    """
    import sys, time
    import gradwire as gw
    s = gw.connect(sys.argv[1], timeout=30)
    a = s.randn(300, 300) * 0.05
    s.sync()
    x = a
    for _ in range(150):
        x = (x @ a).tanh() + a
    with s._lock:
        s._flush()
    print(s.id, flush=True)
    time.sleep(600)
    """
)


def test_a_client_killed_mid_batch_leaves_nothing_running(own_server):
    server = own_server(idle_timeout_s=1.0)
    other = gw.connect(server.address, timeout=10)
    assert other.ones(3).sum().item() == 3.0
    proc = subprocess.Popen([sys.executable, "-c", _DOOMED_CLIENT, server.address], stdout=subprocess.PIPE, text=True)
    try:
        session_id = proc.stdout.readline().strip()
        assert session_id, "the client died before sending its batch"
        served = server.registry._sessions[session_id]
        wait_until(served.lock.locked, "the batch's start")
        assert server.servicer.streams == 2
        proc.kill()
        proc.wait(timeout=WAIT_S)
        # the server carries on serving others, while and after the dead client's batch runs
        total = other.tensor(np.arange(6.0, dtype=np.float32))
        for k in range(20):
            assert (total * k).sum().item() == 15.0 * k
        # the dead client's stream ends (its worker is free) once its batch is done: nothing is left running
        wait_until(lambda: server.servicer.streams == 1, "the end of the dead client's stream")
        # and its session is reaped at idle expiry, with everything it held
        wait_until(lambda: session_id not in server.registry._sessions, "the dead client's session's reaping")
        assert served.tensors == {} and not served.replies
        engine = weakref.ref(served.engine)
        served = None
        gc.collect()
        assert engine() is None, "something still holds the reaped session's engine"
        assert server.registry._ended[session_id][0] == "expired after 1 s idle"
        print("\nkilled mid-batch: its stream ended after the batch, its session was reaped at 1 s idle and its engine freed; another session answered 20 synced ops meanwhile")
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        other.close()


# --- sessions run side by side -------------------------------------------------------------------


def test_a_slow_session_does_not_stall_small_ops_of_others(own_server):
    server = own_server()
    slow = gw.connect(server.address, timeout=10, seed=0)
    quick = gw.connect(server.address, timeout=10, seed=1)
    try:
        served = server.registry._sessions[slow.id]
        a = slow.randn(400, 400) * 0.05
        slow.sync()
        x = a
        for _ in range(200):  # big matmuls, in one batch: seconds of work
            x = (x @ a).tanh() + a
        heavy = Call(x.numpy)
        wait_until(served.lock.locked, "the slow batch's start")
        v = quick.tensor([1.0, 2.0, 3.0], requires_grad=True)
        done_while_slow_ran = 0
        for k in range(1, 1001):
            if not served.lock.locked():
                break
            (v * k).sum().backward()
            assert v.grad.numpy()[0] == k * (k + 1) / 2  # a synced round trip, in order, each applied once
            if served.lock.locked():
                done_while_slow_ran += 1  # the slow batch still held its session for this whole round trip
        # one session's commands stay in order, and the other's were not queued behind them
        assert done_while_slow_ran >= 20, f"only {done_while_slow_ran} small ops completed while the slow batch ran"
        kind, value = heavy.result(timeout=120)
        assert kind == "ok" and value.shape == (400, 400) and np.isfinite(value).all()
        print(f"\nslow beside quick: {done_while_slow_ran} synced backward passes of the quick session while one batch of 200 400x400 matmuls ran")
    finally:
        slow.close()
        quick.close()


# --- SIGTERM under load ------------------------------------------------------------------------------


def test_sigterm_during_load_drains_and_tells_every_client(tmp_path):
    server = ServerProcess(tmp_path)
    outcomes = {}
    steps_done = {}
    started = threading.Barrier(7)

    def client(k):
        try:
            s = gw.connect(server.address, timeout=30, seed=k)
        except gw.GradwireError as error:
            outcomes[k] = ("refused", error)
            started.wait()
            return
        steps_done[k] = 0

        def count(step):
            steps_done[k] = step + 1
            if step == 4:
                started.wait()

        try:
            train(s, seed=k, steps=100_000, after_step=count)
            outcomes[k] = ("finished", None)
        except gw.GradwireError as error:
            outcomes[k] = (s.id, error)
        except Exception as error:  # noqa: BLE001 - anything else is a failure of the test
            outcomes[k] = ("wrong error", error)
        finally:
            s.close()

    try:
        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(6)]
        for t in threads:
            t.start()
        started.wait(timeout=60)  # every client is training
        server.proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a client hung after SIGTERM"
        code = server.proc.wait(timeout=EXIT_S + 30)
        assert code == 0, server.logged()
        assert "draining" in server.logged()
        assert len(outcomes) == 6
        for k, (who, error) in outcomes.items():
            assert who not in ("wrong error", "refused", "finished"), f"client {k}: {who} {error!r}"
            assert isinstance(error, (gw.UnavailableError, gw.NotFoundError)), f"client {k}: {error!r}"
            message = str(error)
            assert who in message, message
            assert "shutting down" in message or "closed by a server shutdown" in message, message
            assert steps_done[k] >= 5
        told = sorted({str(error).split(": ", 1)[1] for _, error in outcomes.values()})
        print(f"\nSIGTERM under load: 6 training clients, server exit code {code}; every client told: {told}")
    finally:
        server.close()


def test_the_server_forgets_the_replies_the_client_has_read(server):
    """The window of replies for resends holds only what the client has not read yet, so reading
    a tensor every step (inline, up to a MiB a reply) does not pile up 64 replies per session."""
    with gw.connect(server.address, timeout=10) as s:
        x = s.tensor(np.ones(1000, dtype=np.float32))
        for _ in range(100):
            (x * 2).numpy()
        kept = server.registry._sessions[s.id].replies
        assert len(kept) <= 2, sorted(kept)  # the last replies, early-answered and not read to the end yet
