"""The AWS emulator (moto, with our fixes) in a process of its own.

In its own process moto gets a core of its own instead of sharing one interpreter lock with the services,
pumps and gateway, which roughly doubles what the local stack can move. The child exits when its parent
does, so a killed `caseline dev` leaves nothing behind.
"""

import argparse
import os
import subprocess
import sys
import threading
import time

READY = "caseline-emulator-ready"


class EmulatorProcess:
    def __init__(self, host: str, port: int, start_timeout: float = 30.0) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "caseline.local.emulator", "--host", host, "--port", str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + start_timeout
        assert self._process.stdout is not None
        line = ""
        while time.monotonic() < deadline and self._process.poll() is None:
            line = self._process.stdout.readline().strip()
            if line.startswith(READY):
                break
        if not line.startswith(READY):
            self.stop()
            raise RuntimeError(f"the AWS emulator did not start within {start_timeout:.0f} s")
        _, self.host, port_text = line.split()
        self.port = int(port_text)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description="moto, with Caseline's fixes, on a loopback port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args()
    import logging

    from moto.server import ThreadedMotoServer

    from . import meter, moto_fixes

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto_fixes.apply()
    if os.environ.get(meter.ENABLE_VARIABLE):
        meter.install()  # `make bench` bills what the stack asks of AWS
    server = ThreadedMotoServer(ip_address=arguments.host, port=arguments.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(READY, host, port, flush=True)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
