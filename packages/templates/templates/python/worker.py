"""{{name}}: an iii worker that registers {{functionId}}."""

import os
import signal
import threading

from iii import InitOptions, register_worker

# `iii` starts the worker with III_URL (the engine's address) and III_WORKER_NAME set;
# the fallbacks are for running it by hand.
iii = register_worker(
    os.environ.get("III_URL", "ws://localhost:49134"),
    InitOptions(worker_name=os.environ.get("III_WORKER_NAME", "{{name}}")),
)


async def hello(data):
    # GREETING comes from the worker's `config:` in config.yaml (the image's ENV is the default).
    greeting = os.environ.get("GREETING", "Hello")
    who = (data or {}).get("name", "world")
    return {"message": f"{greeting}, {who}!"}


iii.register_function("{{functionId}}", hello)
print("{{name}} is ready: {{functionId}}", flush=True)

# The SDK runs the connection in the background; keep the process alive until asked to stop.
# As PID 1 in its sandbox the worker gets no default SIGTERM handling, so handle it here.
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
stop.wait()
iii.shutdown()
