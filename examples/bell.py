"""Run a Bell circuit on the embedded local Qibo server and print its result.

No account, no token, no network: ``local://`` starts a Qibo server inside
this process, on qibo's simulators. Swap the URL for a lab's server
(``https://...``) and a real token, and the same code runs there.

Two ways to run it:

- ``python examples/bell.py`` runs :func:`main`, which sends the circuit itself;
- ``qibo-client run examples/bell.py`` only reads the module-level ``circuit``
  (the command does not run the ``__main__`` block) and sends it to the server
  the command is pointed at.
"""

from qibo import Circuit, gates

from qibo_client import Client

circuit = Circuit(2)
circuit.add(gates.H(0))
circuit.add(gates.CNOT(0, 1))
circuit.add(gates.M(0, 1))


def main() -> None:
    with Client(token="local-user", url="local://") as client:
        job = client.run_circuit(circuit, device="numpy", nshots=1000)
        result = job.result()
        print(f"job {job.pid} on {job.device}: {dict(result.frequencies())}")


if __name__ == "__main__":
    main()
