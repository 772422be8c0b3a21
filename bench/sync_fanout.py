"""How a sync scales with the number of devices, against a plain PyEZ loop.

Starts simulated SRX devices (``python -m tests.fakesrx``, in a process of
their own) that add a fixed latency to every RPC, then for each fleet size
syncs one IMAP policy and one binding to every device twice: with
:func:`deviceio.sync.run_sync` (parallel, all or nothing), and with a
sequential PyEZ loop doing the same steps (lock, load, diff, commit check,
commit confirmed, read back, confirm, unlock). Each measurement runs in a
fresh Python process so that its peak memory (``ru_maxrss``) is its own.

    .venv/bin/python bench/sync_fanout.py                # sizes 1, 10, 50
    .venv/bin/python bench/sync_fanout.py --sizes 1,5 --latency 0.02

Every run changes the policy's subject, so every sync commits.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

USER = "admin"
PASSWORD = "bench-password"


def start_devices(
    count: int, latency: float, per_process: int = 50
) -> tuple[list[subprocess.Popen], list[dict]]:
    """Start ``count`` simulated devices, ``per_process`` to a process (real
    devices do not share one Python interpreter); return the processes and
    the devices."""
    processes, devices = [], []
    for first in range(0, count, per_process):
        size = min(per_process, count - first)
        command = [
            sys.executable,
            "-m",
            "tests.fakesrx",
            "--count",
            str(size),
            "--hostname",
            f"srx{first // per_process + 1}",
            "--user",
            USER,
            "--password",
            PASSWORD,
            "--fault",
            f"latency={latency}",
        ]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        processes.append(process)
        assert process.stdout is not None
        for _ in range(size):
            line = process.stdout.readline()
            if not line:
                stop_devices(processes)
                raise RuntimeError("the simulated devices did not start")
            host, port, fingerprint = line.split()
            devices.append(
                {"host": host, "port": int(port), "fingerprint": fingerprint}
            )
    return processes, devices


def stop_devices(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(10)


def pin_keys(devices: list[dict]) -> None:
    """Read each device's host key and check it against the printed one."""
    from deviceio.hostkeys import fetch_host_key, fingerprint

    for device in devices:
        key = fetch_host_key(device["host"], device["port"], 10)
        if fingerprint(key) != device["fingerprint"]:
            raise RuntimeError(f"unexpected host key on port {device['port']}")
        device["key"] = key


def warm_up(device: dict) -> None:
    """Preview once so the simulator's first commit check (it loads its
    validator) is not counted against the first measurement."""
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

    import deviceio.workflow  # noqa: F401

    measure = measure_parallel if mode == "parallel" else measure_sequential
    row = measure(devices, run)
    row["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(row))


def run_child(mode: str, devices: list[dict], run: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--run", str(run)],
        input=json.dumps(devices),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{mode} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--skip-sequential", action="store_true")
    parser.add_argument(
        "--devices-per-process",
        type=int,
        default=50,
        help="simulated devices sharing one Python process (more processes "
        "only add contention on a small machine)",
    )
    parser.add_argument("--child", choices=("parallel", "sequential"))
    parser.add_argument("--run", type=int, default=0)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.run)
        return 0

    sizes = [int(s) for s in args.sizes.split(",")]
    processes, devices = start_devices(
        max(sizes), args.latency, args.devices_per_process
    )
    try:
        pin_keys(devices)
        warm_up(devices[0])
        rows = []
        run = int(time.time())
        for size in sizes:
            run += 1
            parallel = run_child("parallel", devices[:size], run)
            sequential = None
            if not args.skip_sequential:
                run += 1
                sequential = run_child("sequential", devices[:size], run)
            rows.append((size, parallel, sequential))
    finally:
        stop_devices(processes)
    print_table(rows, args.latency)
    return 0


def print_table(rows: list, latency: float) -> None:
    base = rows[0][1]["seconds"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"latency per RPC: {latency * 1000:.0f} ms; {os.cpu_count()} CPUs; "
        f"load average {load}"
    )
    print()
    print(
        "| devices | run_sync s | × one device | RPCs/device | peak RSS MB "
        "| PyEZ loop s | RPCs/device | peak RSS MB | speed-up |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, parallel, sequential in rows:
        cells = [
            str(size),
            f"{parallel['seconds']:.2f}",
            f"{parallel['seconds'] / base:.2f}",
            str(parallel["rpcs"]),
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


if __name__ == "__main__":
    sys.exit(main())
