"""How a sync scales with the number of devices, against a plain PyEZ loop.

For each fleet size, and for each repetition, starts that many simulated SRX
devices (``python -m tests.fakesrx``, in a process of their own, so their CPU
time is not the client's) that add a fixed latency to every RPC, pins their
host keys, and syncs one IMAP policy and one binding to every device: with
:func:`deviceio.sync.run_sync` (parallel, all or nothing), or with a
sequential PyEZ loop doing the same steps (lock, load, diff, commit check,
commit confirmed, read back, confirm, unlock). Every measurement gets new
devices, so each starts from the same configuration, and runs in a fresh
Python process, so that its peak memory (``ru_maxrss``) is its own.

The simulated devices stand for remote machines. So that their CPU time is
not taken from the client, by default (``--placement split``, Linux with two
or more CPUs) the devices run on the last half of the CPUs and the client on
the first half; ``--placement shared`` lets both use every CPU.

    .venv/bin/python bench/sync_fanout.py                # sizes 1, 10, 50
    .venv/bin/python bench/sync_fanout.py --sizes 1,5 --latency 0.02
    .venv/bin/python bench/sync_fanout.py --skip-sequential --repeat 7
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

USER = "admin"
PASSWORD = "bench-password"


class Fleet:
    """Simulated devices in processes of their own, host keys pinned."""

    def __init__(
        self,
        count: int,
        latency: float,
        per_process: int = 50,
        validate: bool = True,
        cpus: set[int] | None = None,
    ) -> None:
        self.processes: list[subprocess.Popen] = []
        self.devices: list[dict] = []
        try:
            for first in range(0, count, per_process):
                size = min(per_process, count - first)
                hostname = f"srx{first // per_process + 1}"
                self._start(size, hostname, latency, validate, cpus)
            self._pin_keys()
        except BaseException:
            self.stop()
            raise

    def _start(
        self,
        size: int,
        hostname: str,
        latency: float,
        validate: bool,
        cpus: set[int] | None,
    ) -> None:
        command = [
            sys.executable,
            "-m",
            "tests.fakesrx",
            "--count",
            str(size),
            "--hostname",
            hostname,
            "--user",
            USER,
            "--password",
            PASSWORD,
            "--fault",
            f"latency={latency}",
        ]
        if not validate:
            command.append("--no-validate")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            preexec_fn=_on_cpus(cpus),
        )
        self.processes.append(process)
        assert process.stdout is not None
        # one readiness line per device once it listens: host port fingerprint
        for _ in range(size):
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("the simulated devices did not start")
            host, port, fingerprint = line.split()
            self.devices.append(
                {"host": host, "port": int(port), "fingerprint": fingerprint}
            )

    def _pin_keys(self) -> None:
        """Read each device's host key and check it against the printed one."""
        from deviceio.hostkeys import fetch_host_key, fingerprint

        def pin(device: dict) -> None:
            key = fetch_host_key(device["host"], device["port"], 10)
            if fingerprint(key) != device["fingerprint"]:
                raise RuntimeError(f"unexpected host key on port {device['port']}")
            device["key"] = key

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(pin, self.devices))

    def cpu_seconds(self) -> float | None:
        """CPU time the simulator processes used so far (Linux only)."""
        total = 0.0
        for process in self.processes:
            try:
                with open(f"/proc/{process.pid}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                return None
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def placement_cpus(placement: str) -> tuple[set[int] | None, set[int] | None]:
    """The CPUs of the client and of the devices; None for every CPU."""
    if placement == "shared" or not hasattr(os, "sched_setaffinity"):
        return None, None
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    half = len(available) // 2
    return set(available[:half]), set(available[half:])


def _on_cpus(cpus: set[int] | None):
    """A ``preexec_fn`` confining the new process (and its threads) to ``cpus``."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def warm_up(device: dict) -> None:
    """Preview once so the simulator's first commit check (it loads its
    validator) is not counted against the measurement."""
    from deviceio.sync import Credentials, DeviceTarget, SyncOptions, run_sync

    policy, binding, _load = _change(0)
    target = DeviceTarget(
        name="warm-up",
        host=device["host"],
        port=device["port"],
        user=USER,
        credentials=Credentials(password=PASSWORD),
        pinned_host_key=device["key"],
        policies=(policy,),
        bindings=(binding,),
    )
    run_sync([target], SyncOptions(preview_only=True))


def _change(run: int):
    from deviceio.render import Binding, render_load
    from store.model import Policy

    policy = Policy(name="imap-policy", subject=f"Malware Detected (run {run})")
    binding = Binding("trust", "untrust", "imap-scan", "imap-policy")
    return policy, binding, render_load([policy], [binding])


def measure_parallel(devices: list[dict], run: int) -> dict:
    """Sync every device with run_sync; wall time and RPC counts."""
    from deviceio.sync import Credentials, DeviceTarget, SyncOptions, run_sync

    policy, binding, _load = _change(run)
    targets = [
        DeviceTarget(
            name=f"srx-{index + 1}",
            host=device["host"],
            port=device["port"],
            user=USER,
            credentials=Credentials(password=PASSWORD),
            pinned_host_key=device["key"],
            policies=(policy,),
            bindings=(binding,),
            revision_label=f"bench run {run}",
        )
        for index, device in enumerate(devices)
    ]
    options = SyncOptions(max_workers=len(targets), timeout=120)
    started = time.perf_counter()
    results = run_sync(targets, options)
    elapsed = time.perf_counter() - started
    failed = [r for r in results if r.outcome.value != "synced"]
    if failed:
        raise RuntimeError(
            f"{failed[0].device}: {failed[0].outcome}: {failed[0].error}"
        )
    return {
        "seconds": elapsed,
        "rpcs": max(r.rpc_count for r in results),
    }


def measure_sequential(devices: list[dict], run: int) -> dict:
    """The same steps with PyEZ, one device after the other."""
    import tempfile

    from jnpr.junos import Device
    from jnpr.junos.utils.config import Config

    from deviceio.managed import extract, subtree_filter

    _policy, _binding, load = _change(run)
    folder = tempfile.mkdtemp(prefix="bench-ssh-")
    known_hosts = os.path.join(folder, "known_hosts")
    with open(known_hosts, "w") as handle:
        for device in devices:
            handle.write(f"[{device['host']}]:{device['port']} {device['key']}\n")
    ssh_config = os.path.join(folder, "ssh_config")
    with open(ssh_config, "w") as handle:
        handle.write(f"Host *\n    UserKnownHostsFile {known_hosts}\n")
    rpcs = 0
    started = time.perf_counter()
    for device in devices:
        dev = Device(
            host=device["host"],
            port=device["port"],
            user=USER,
            passwd=PASSWORD,
            ssh_config=ssh_config,
            hostkey_verify=True,
            look_for_keys=False,
            allow_agent=False,
            gather_facts=False,
        )
        dev.open()
        dev.timeout = 120
        cu = Config(dev)
        cu.lock()
        cu.load(load, format="xml")
        if not cu.diff():
            raise RuntimeError("nothing to commit")
        cu.commit_check()
        cu.commit(confirm=5, comment=f"bench run {run}")
        wanted = set(extract(load))
        dev.rpc.get_config(
            filter_xml=subtree_filter(wanted), options={"database": "committed"}
        )
        cu.commit(comment=f"bench run {run} confirmed")
        cu.unlock()
        dev.close()
        rpcs = 9
    return {"seconds": time.perf_counter() - started, "rpcs": rpcs}


def child(mode: str, run: int) -> None:
    devices = json.load(sys.stdin)
    # import the device stack before the clock starts, for both modes
    import jnpr.junos.utils.config  # noqa: F401
    import ncclient.manager  # noqa: F401
    import ncclient.transport.ssh  # noqa: F401

    import deviceio.workflow  # noqa: F401

    measure = measure_parallel if mode == "parallel" else measure_sequential
    cpu = time.process_time()
    row = measure(devices, run)
    row["cpu_seconds"] = time.process_time() - cpu
    row["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(row))


def run_child(
    mode: str, devices: list[dict], run: int, cpus: set[int] | None = None
) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--run", str(run)],
        input=json.dumps(devices),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        preexec_fn=_on_cpus(cpus),
    )
    if out.returncode != 0:
        raise RuntimeError(f"{mode} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(mode: str, size: int, args: argparse.Namespace, run: int) -> dict:
    """One measurement on a fleet of its own, started and stopped for it."""
    client_cpus, device_cpus = placement_cpus(args.placement)
    fleet = Fleet(
        size,
        args.latency,
        args.devices_per_process,
        validate=not args.no_validate,
        cpus=device_cpus,
    )
    try:
        warm_up(fleet.devices[0])
        before = fleet.cpu_seconds()
        row = run_child(mode, fleet.devices, run, client_cpus)
        after = fleet.cpu_seconds()
    finally:
        fleet.stop()
    if before is not None and after is not None:
        row["device_cpu_seconds"] = after - before
    print(
        f"{mode:10s} {size:3d} devices: {row['seconds']:.2f} s",
        file=sys.stderr,
        flush=True,
    )
    return row


def summarise(rows: list[dict]) -> dict:
    seconds = [row["seconds"] for row in rows]
    device_cpu = [row.get("device_cpu_seconds") for row in rows]
    device_cpu = [value for value in device_cpu if value is not None]
    return {
        "seconds": statistics.median(seconds),
        "min": min(seconds),
        "max": max(seconds),
        "runs": len(rows),
        "rpcs": max(row["rpcs"] for row in rows),
        "cpu_seconds": statistics.median(row["cpu_seconds"] for row in rows),
        "device_cpu_seconds": statistics.median(device_cpu) if device_cpu else None,
        "max_rss_mb": max(row["max_rss_mb"] for row in rows),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument(
        "--repeat", type=int, default=5, help="run_sync measurements per size"
    )
    parser.add_argument(
        "--sequential-repeat",
        type=int,
        default=1,
        help="PyEZ loop measurements per size (50 devices take over a minute)",
    )
    parser.add_argument("--skip-sequential", action="store_true")
    parser.add_argument(
        "--no-validate",
        action="store_true",
        help="devices skip YANG validation at commit (less simulator CPU, and "
        "commit check answers after the latency alone)",
    )
    parser.add_argument(
        "--devices-per-process",
        type=int,
        default=50,
        help="simulated devices sharing one Python process (more processes "
        "only add contention on a small machine)",
    )
    parser.add_argument(
        "--placement",
        choices=("split", "shared"),
        default="split",
        help="split: devices on the last half of the CPUs, the client on the "
        "first half (Linux); shared: both anywhere",
    )
    parser.add_argument("--child", choices=("parallel", "sequential"))
    parser.add_argument("--run", type=int, default=0)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.run)
        return 0

    sizes = [int(s) for s in args.sizes.split(",")]
    load_before = os.getloadavg()
    table = []
    run = int(time.time())
    for size in sizes:
        parallel = []
        for _ in range(args.repeat):
            run += 1
            parallel.append(measure("parallel", size, args, run))
        sequential = []
        for _ in range(0 if args.skip_sequential else args.sequential_repeat):
            run += 1
            sequential.append(measure("sequential", size, args, run))
        table.append(
            (
                size,
                summarise(parallel),
                summarise(sequential) if sequential else None,
            )
        )
    print_table(table, args.latency, load_before, args.placement)
    return 0


def print_table(
    table: list, latency: float, load_before: tuple, placement: str
) -> None:
    base = table[0][1]["seconds"]
    client_cpus, device_cpus = placement_cpus(placement)
    if client_cpus is None or device_cpus is None:
        where = "client and devices share every CPU"
    else:
        where = (
            f"client on CPU {_cpu_list(client_cpus)}, "
            f"devices on CPU {_cpu_list(device_cpus)}"
        )
    print(
        f"latency per RPC: {latency * 1000:.0f} ms; {os.cpu_count()} CPUs, {where}; "
        f"load average at the start {load_before[0]:.1f}, at the end "
        f"{os.getloadavg()[0]:.1f}; run_sync: median of "
        f"{table[0][1]['runs']} runs (min–max)"
    )
    print()
    print(
        "| devices | run_sync s | × one device | RPCs/device | client CPU s "
        "| devices' CPU s | peak RSS MB | PyEZ loop s | RPCs/device | peak RSS MB "
        "| speed-up |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, parallel, sequential in table:
        device_cpu = parallel["device_cpu_seconds"]
        cells = [
            str(size),
            f"{parallel['seconds']:.2f} ({parallel['min']:.2f}–{parallel['max']:.2f})",
            f"{parallel['seconds'] / base:.2f}",
            str(parallel["rpcs"]),
            f"{parallel['cpu_seconds']:.2f}",
            "–" if device_cpu is None else f"{device_cpu:.2f}",
            f"{parallel['max_rss_mb']:.0f}",
        ]
        if sequential:
            cells += [
                f"{sequential['seconds']:.2f}",
                str(sequential["rpcs"]),
                f"{sequential['max_rss_mb']:.0f}",
                f"{sequential['seconds'] / parallel['seconds']:.1f}×",
            ]
        else:
            cells += ["–"] * 4
        print("| " + " | ".join(cells) + " |")


def _cpu_list(cpus: set[int]) -> str:
    return ",".join(str(cpu) for cpu in sorted(cpus))


if __name__ == "__main__":
    sys.exit(main())
