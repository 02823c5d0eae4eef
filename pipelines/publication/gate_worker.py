"""The quality gate in a fresh interpreter, started before it is needed.

Importing Great Expectations takes seconds (about 4 on the bench's machine), and the import
holds the interpreter: a thread would not overlap it with anything. `publish` starts a
`GateWorker` as soon as the protection's inputs are read (`publish.EarlyGate`; not at all
when they equal those of the release in force, gated before), so the worker imports Great
Expectations while the publication protects the tables; once they are protected, and only
when the content is new, the worker receives them and runs
`pipelines.publication.gate.run_gate` (which writes the quality report); otherwise it is
stopped unused. The worker's wall time then hides behind the protection's.

The worker reads one request (the tables, pickled) on its standard input and answers the
gate's results as JSON on its standard output; anything Great Expectations prints goes to its
standard error. A worker that fails says why in one line, and `GateWorker.run` raises
`GateUnavailable` with it: the publication is held, never passed.
"""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import polars as pl

from pipelines.feedback import OperatorError
from pipelines.paths import PROJECT_ROOT
from pipelines.publication.gate import GateResult, run_gate, warm_up

# A gate that has not answered by then hangs: the night is told, not held up for ever (the
# bench's scale-30 gate takes well under a minute).
GATE_TIMEOUT_SECONDS = 15 * 60


class GateUnavailable(OperatorError):
    """The quality gate could not run: nothing is published."""


class GateWorker:
    """A worker process for one gate run: started at once, it imports Great Expectations and
    waits for the tables (`run`); `close` stops it when it was not needed."""

    def __init__(self) -> None:
        # The worker runs this checkout's code, whatever the environment installed.
        path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )

    def run(
        self,
        tables: dict[str, pl.DataFrame],
        semesters: list[str],
        threshold: int,
        quality_dir: Path,
        content_digest: str,
    ) -> list[GateResult]:
        """`run_gate` on these arguments, in the worker; `GateUnavailable` with the worker's
        one-line reason when it fails."""
        request = pickle.dumps((tables, semesters, threshold, quality_dir, content_digest))
        try:
            answer, errors = self.process.communicate(request, timeout=GATE_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.close()
            raise GateUnavailable(
                "nothing published: the quality gate did not answer within "
                f"{GATE_TIMEOUT_SECONDS:g} s (stopped)"
            ) from None
        if self.process.returncode != 0:
            lines = errors.decode(errors="replace").strip().splitlines()
            reason = lines[-1] if lines else f"exit status {self.process.returncode}"
            raise GateUnavailable(f"nothing published: the quality gate could not run: {reason}")
        return [GateResult(**result) for result in json.loads(answer)]

    def close(self) -> None:
        """Stop the worker if it is still waiting (the gate was not needed)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()

    def __enter__(self) -> "GateWorker":
        return self

    def __exit__(self, *_) -> None:
        self.close()


def main() -> int:
    """The worker: warm up (import Great Expectations), then gate the one request on standard
    input."""
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # what the libraries print: not the answer
    try:
        warm_up()
        tables, semesters, threshold, quality_dir, digest = pickle.load(sys.stdin.buffer)
        results = run_gate(tables, semesters, threshold, quality_dir, digest)
    except Exception as error:  # any failure holds the publication, said in one line
        message = " ".join(str(error).split()) or "no message"
        print(f"{type(error).__name__}: {message}", file=sys.stderr)
        return 1
    json.dump([vars(result) for result in results], answer)
    answer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
