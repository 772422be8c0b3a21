"""Ten simulated devices at once: how long starting and reaching them takes."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from jnpr.junos import Device


def test_ten_devices_start_and_answer(fakesrx, record_property):
    started = time.perf_counter()
    fleet = fakesrx.many(10)
    start_seconds = time.perf_counter() - started

    def hostname(srx) -> str:
        with Device(**fakesrx.pyez_args(srx)) as dev:
            return dev.rpc.get_software_information().findtext("host-name")

    started = time.perf_counter()
    names = [hostname(srx) for srx in fleet]
    serial_seconds = time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=10) as pool:
        parallel = list(pool.map(hostname, fleet))
    parallel_seconds = time.perf_counter() - started

    assert names == parallel == [f"srx-{n}" for n in range(1, 11)]
    assert len({srx.port for srx in fleet}) == 10
    assert len({srx.fingerprint for srx in fleet}) == 10
    record_property("start_seconds", round(start_seconds, 3))
    record_property("connect_serial_seconds", round(serial_seconds, 3))
    record_property("connect_parallel_seconds", round(parallel_seconds, 3))
    print(
        f"\nten devices: started in {start_seconds:.3f}s, opened and queried "
        f"one by one in {serial_seconds:.2f}s, in parallel in {parallel_seconds:.2f}s"
    )


def test_command_line_serves_devices_until_terminated(tmp_path):
    import signal
    import subprocess
    import sys

    from jnpr.junos import Device

    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text("")
    command = [sys.executable, "-m", "tests.fakesrx", "--count", "2"]
    command += ["--user", "ops", "--password", "pw", "--state-dir", str(tmp_path)]
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=root)
    try:
        lines = [process.stdout.readline().split() for _ in range(2)]
        assert [len(words) for words in lines] == [3, 3]
        host, port, fingerprint = lines[1]
        assert fingerprint.startswith("SHA256:")
        args = dict(host=host, port=int(port), user="ops", passwd="pw")
        args.update(ssh_config=str(ssh_config), allow_agent=False, look_for_keys=False)
        with Device(gather_facts=False, **args) as dev:
            info = dev.rpc.get_software_information()
            assert info.findtext("host-name") == "srx-2"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert (tmp_path / "srx-2" / "ssh_host_ed25519_key").exists()
