"""A probe, not part of gradwire: run a server's Run-stream batches in a forked worker process.

Put this directory on ``PYTHONPATH`` with ``GRADWIRE_PROBE_ENGINE_PROCESS=1``, and every ``gradwire_server`` process
started then (``bench_remote.py`` starts one) forks, before gRPC is imported, a worker process that holds the sessions'
engines and runs each batch (``commands.run_batch``) that the server's Run handler sends it over a pipe; the handler
passes the replies back to gRPC as they come (an early answer as soon as it is made). The worker has no other thread,
so it never waits for the GIL. With ``GRADWIRE_PROBE_SPIN_S=<seconds>`` it polls the pipe for that long after a batch
before it blocks, so a training loop's next batch finds it running.

Only the Run stream goes to the worker: an upload, a download, stats or a closed session still reach the server's own
session, so only benchmarks whose tensors travel inline (the batch-64 MLP, the tiny ops) run correctly. It measures
where the time goes. What it showed (RESULTS.md, session 24): no gain within this guest's noise, except with a worker
that polls always, which slows the local reference it is compared with as much.
"""

import os

if os.environ.get("GRADWIRE_PROBE_ENGINE_PROCESS") == "1" and b"gradwire_server" in open("/proc/self/cmdline", "rb").read():
    import multiprocessing
    import time

    _server_end, _worker_end = multiprocessing.Pipe()
    _SPIN_S = float(os.environ.get("GRADWIRE_PROBE_SPIN_S", "0"))

    def _work(conn):
        from gradwire.v1 import gradwire_pb2 as pb
        from gradwire_server import commands
        from gradwire_server.config import Config
        from gradwire_server.engine import Engine
        from gradwire_server.quotas import SessionQuota
        from gradwire_server.sessions import Session

        sessions = {}
        while True:
            deadline = time.perf_counter() + _SPIN_S
            while not conn.poll(0) and time.perf_counter() < deadline:
                pass  # running, not halted, when the next batch comes
            try:
                data = conn.recv_bytes()
            except EOFError:
                return
            session_id, _, batch = data.partition(b"\0")
            session = sessions.get(session_id)
            if session is None:
                session = sessions[session_id] = Session(session_id.decode(), "probe", Engine(device="cpu"))
                session.quota = SessionQuota(session, Config.max_session_bytes, Config.max_tensor_elements)
            for reply in commands.run_batch(session, pb.Batch.FromString(batch), 1 << 20):
                conn.send_bytes(reply.SerializeToString())

    if os.fork() == 0:
        _server_end.close()
        _work(_worker_end)
        os._exit(0)
    _worker_end.close()

    import gradwire_server.servicer as _servicer
    from gradwire.v1 import gradwire_pb2 as _pb

    def _run_batch(self, session, batch):
        _server_end.send_bytes(session.id.encode() + b"\0" + batch.SerializeToString())

        def replies():
            while True:
                reply = _pb.BatchReply.FromString(_server_end.recv_bytes())
                yield reply
                if not reply.partial:  # the full reply is a batch's last
                    return

        return replies()

    _servicer.GradwireServicer._run_batch = _run_batch
