"""nfs and nfsd collectors on two snapshots of a fake /proc: exact per-op rates and paths."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from carbon_client.agent import Agent
from carbon_client.collectors import REGISTRY
from carbon_client.collectors.nfs import Nfs, Nfsd
from carbon_client.config import build
from carbon_client.lines import Renderer
from carbon_client.metrics import COUNTER, GAUGE, Unavailable
from carbon_client.naming import DefaultLayout
from carbon_client.sampling import Sampler
from carbon_client.source import Source
from tests.parsers.test_nfs import CLIENT_V4, SERVER_V4OPS, V2, V3

FIX = Path(__file__).resolve().parent.parent / "fixtures"

# The values of fixtures/procfs/net/rpc/nfs, line by line.
C_NET = [18628, 0, 18628, 6]
C_RPC = [4329785, 0, 4338291]
C_V2 = [2, 69, 0, 0, 4410, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99, 2]
C_V3 = [1, 4084749, 29200, 94754, 32580, 186, 47747, 7981, 8639, 0, 6356, 0, 6962, 0, 7958, 0, 0,
        241, 4, 4, 2, 39]
C_V4 = [1] + [0] * 11 + [1, 1] + [0] * 7 + [2] + [0] * 39


def ops(tag: str, values: list[int]) -> str:
    return " ".join([tag, str(len(values)), *map(str, values)]) + "\n"


def client_text(net=C_NET, rpc=C_RPC, v2=C_V2, v3=C_V3, v4=C_V4) -> str:
    out = "net " + " ".join(map(str, net)) + "\nrpc " + " ".join(map(str, rpc)) + "\n"
    if v2 is not None:
        out += ops("proc2", v2)
    return out + ops("proc3", v3) + ops("proc4", v4)


# The values of fixtures/procfs/net/rpc/nfsd.
S_RC = [0, 6, 18622]
S_IO = [157286400, 0]
S_NET = [18628, 0, 18628, 6]
S_RPC = [18628, 0, 0, 0, 0]
S_V3 = [2, 112, 0, 2719, 111, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 27, 216, 0, 2, 1, 0]
S_V4 = [2, 10853]
S_V4OPS = ([0, 0, 0, 1098, 2, 0, 0, 0, 0, 8179, 5896, 0, 0, 0, 0, 5900, 0, 0, 2, 0, 2, 0, 9609, 0, 2,
            150, 1272, 0, 0, 0, 1236, 0, 0, 0, 0, 3, 3] + [0] * 35)


def server_text(rc=S_RC, stale=0, io=S_IO, threads=8, net=S_NET, rpc=S_RPC, v2=C_V2, v3=S_V3,
                v4=S_V4, v4ops=S_V4OPS, tail="") -> str:
    j = lambda v: " ".join(map(str, v))  # noqa: E731
    return (
        f"rc {j(rc)}\nfh {stale} 0 0 0 0\nio {j(io)}\n"
        f"th {threads} 0" + " 0.000" * 10 + "\n"
        "ra 32 0 0 0 0 0 0 0 0 0 0 0\n"
        f"net {j(net)}\nrpc {j(rpc)}\n"
        + (ops("proc2", v2) if v2 is not None else "")
        + ops("proc3", v3) + ops("proc4", v4) + ops("proc4ops", v4ops) + tail
    )


def test_snapshot_builders_reproduce_the_captures():
    assert client_text() == (FIX / "procfs/net/rpc/nfs").read_text()
    assert server_text() == (FIX / "procfs/net/rpc/nfsd").read_text()


def bump(values: list[int], **by_index: int) -> list[int]:
    out = list(values)
    for k, d in by_index.items():
        out[int(k[1:])] += d
    return out


class Run:
    """One collector on a fake proc root, sampled and rendered as the agent does."""

    def __init__(self, tmp: Path, cls, counters: str = "rate") -> None:
        self.proc = tmp / "proc"
        self.collector = cls(Source(str(self.proc), str(tmp / "sys")))
        self.rel = cls.source_path
        self.sampler = Sampler(self.collector, want_totals=counters != "rate")
        self.formatter = Renderer(DefaultLayout("host"), counters)

    def write(self, text: str) -> None:
        p = self.proc / self.rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    def step(self, text: str, t: float, ts: int) -> list[str]:
        self.write(text)
        sampled = self.sampler.update(self.collector.read(), t)
        out: list[str] = []
        n = self.formatter.render(sampled, ts, out)
        lines = "".join(out).splitlines()
        assert n == len(lines)
        return lines


def values(lines: list[str], ts: int) -> dict[str, str]:
    out = {}
    for ln in lines:
        path, value, stamp = ln.split(" ")
        assert stamp == str(ts)
        assert path not in out
        out[path] = value
    return out


# -- client -----------------------------------------------------------------------


def test_client_exact_rates_over_measured_time(tmp_path):
    run = Run(tmp_path, Nfs)
    first = run.step(client_text(), 100.0, 1000)
    assert first == []  # counters only: no rate on a first sample
    second = client_text(
        net=bump(C_NET, i0=20, i2=20),
        rpc=bump(C_RPC, i0=200, i1=2, i2=201),
        v3=bump(C_V3, i1=1000, i6=60, i7=6, i21=1),
        v4=bump(C_V4, i44=2, i60=4),
    )
    got = values(run.step(second, 102.0, 1002), 1002)
    assert len(got) == 4 + 3 + 18 + 22 + 61
    assert {k: v for k, v in got.items() if k.startswith(("host.nfs.net.", "host.nfs.rpc."))} == {
        "host.nfs.net.packets": "10", "host.nfs.net.udp": "0", "host.nfs.net.tcp": "10",
        "host.nfs.net.tcpconn": "0",
        "host.nfs.rpc.calls": "100", "host.nfs.rpc.retrans": "1", "host.nfs.rpc.authrefresh": "100.5",
    }
    nonzero = {k: v for k, v in got.items() if v != "0"}
    assert nonzero == {
        "host.nfs.net.packets": "10", "host.nfs.net.tcp": "10",
        "host.nfs.rpc.calls": "100", "host.nfs.rpc.retrans": "1", "host.nfs.rpc.authrefresh": "100.5",
        "host.nfs.v3.getattr": "500", "host.nfs.v3.read": "30", "host.nfs.v3.write": "3",
        "host.nfs.v3.commit": "0.5",
        "host.nfs.v4.layoutget": "1", "host.nfs.v4.offload_cancel": "2",
    }
    assert {k for k in got if k.startswith("host.nfs.v2.")} == {f"host.nfs.v2.{n}" for n in V2}
    assert {k for k in got if k.startswith("host.nfs.v3.")} == {f"host.nfs.v3.{n}" for n in V3}
    assert {k for k in got if k.startswith("host.nfs.v4.")} == {f"host.nfs.v4.{n}" for n in CLIENT_V4[:61]}


def test_client_raw_counters_are_cumulative(tmp_path):
    run = Run(tmp_path, Nfs, counters="raw")
    first = values(run.step(client_text(), 100.0, 1000), 1000)
    assert first["host.nfs.v3.getattr_total"] == "4084749"
    assert first["host.nfs.rpc.authrefresh_total"] == "4338291"
    second = values(run.step(client_text(v3=bump(C_V3, i6=60)), 102.0, 1002), 1002)
    assert len(second) == 4 + 3 + 18 + 22 + 61
    assert all(k.endswith("_total") for k in second)
    assert second["host.nfs.v3.read_total"] == "47807"
    assert second["host.nfs.v2.lookup_total"] == "4410"
    assert second["host.nfs.v4.remove_total"] == "2"
    assert second["host.nfs.net.tcpconn_total"] == "6"


def test_client_both_sends_rate_and_total(tmp_path):
    run = Run(tmp_path, Nfs, counters="both")
    run.step(client_text(), 100.0, 1000)
    got = values(run.step(client_text(v3=bump(C_V3, i6=60)), 102.0, 1002), 1002)
    assert len(got) == 2 * (4 + 3 + 18 + 22 + 61)
    assert (got["host.nfs.v3.read"], got["host.nfs.v3.read_total"]) == ("30", "47807")


def test_client_counter_backwards_gives_no_rate_for_that_counter(tmp_path):
    run = Run(tmp_path, Nfs)
    big = bump(C_V3, i6=4294967290 - C_V3[6])  # read near 2**32
    run.step(client_text(v3=big), 100.0, 1000)
    wrapped = bump(big, i6=-4294967290 + 5, i1=10)  # 32-bit wrap: read went down
    got = values(run.step(client_text(v3=wrapped, v4=bump(C_V4, i1=4)), 102.0, 1002), 1002)
    assert "host.nfs.v3.read" not in got
    assert got["host.nfs.v3.getattr"] == "5"  # the instance's other counters still go
    assert got["host.nfs.v4.read"] == "2"
    assert got["host.nfs.rpc.calls"] == "0"
    again = values(run.step(client_text(v3=bump(wrapped, i6=8)), 104.0, 1004), 1004)
    assert again["host.nfs.v3.read"] == "4"
    assert again["host.nfs.v3.getattr"] == "0"


def test_client_schema_is_stable_and_changes_with_the_layout(tmp_path):
    run = Run(tmp_path, Nfs)
    c = run.collector
    run.step(client_text(), 100.0, 1000)
    s_v4, s_net = c.schema("v4"), c.schema("net")
    run.step(client_text(v4=bump(C_V4, i0=2)), 101.0, 1001)
    assert c.schema("v4") is s_v4 and c.schema("net") is s_net
    assert s_v4.fields == tuple(CLIENT_V4[:61])
    assert s_v4.counters == frozenset(CLIENT_V4[:61])
    assert all(m.kind == COUNTER and m.unit == "1/s" for m in s_v4.metrics)
    # the nfsv4 module reloaded with more procedures: a new schema, no rate this time
    v4_69 = C_V4 + [0] * 8
    got = values(run.step(client_text(v4=v4_69), 102.0, 1002), 1002)
    assert c.schema("v4") is not s_v4 and len(c.schema("v4").fields) == 69
    assert not any(k.startswith("host.nfs.v4.") for k in got)
    got = values(run.step(client_text(v4=bump(v4_69, i68=3)), 103.0, 1003), 1003)
    assert got["host.nfs.v4.read_plus"] == "3"
    assert len([k for k in got if k.startswith("host.nfs.v4.")]) == 69


def test_client_without_proc2_sends_no_v2(tmp_path):
    run = Run(tmp_path, Nfs)
    run.step(client_text(v2=None), 100.0, 1000)
    got = values(run.step(client_text(v2=None, v3=bump(C_V3, i3=4)), 101.0, 1001), 1001)
    assert not any(".v2." in k for k in got)
    assert got["host.nfs.v3.lookup"] == "4"


def test_client_bad_line_costs_that_instance_only(tmp_path, caplog):
    run = Run(tmp_path, Nfs)
    bad = client_text().replace("proc3 22 1 ", "proc3 23 1 ")
    with caplog.at_level(logging.WARNING, logger="carbon_client.collectors"):
        run.step(bad, 100.0, 1000)
        got = values(run.step(bad.replace("net 18628", "net 18638"), 101.0, 1001), 1001)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1  # once while it keeps recurring
    assert "count '23' but 22 values" in warnings[0]
    assert not any(".v3." in k for k in got)
    assert got["host.nfs.net.packets"] == "10"
    assert len([k for k in got if k.startswith("host.nfs.v4.")]) == 61


def test_client_probe_and_read_when_the_file_goes(tmp_path):
    run = Run(tmp_path, Nfs)
    with pytest.raises(Unavailable, match="net/rpc/nfs does not exist"):
        run.collector.probe()
    run.write(client_text())
    run.collector.probe()
    run.step(client_text(), 100.0, 1000)
    (run.proc / "net/rpc/nfs").unlink()  # rmmod nfs
    with pytest.raises(Unavailable, match="net/rpc/nfs does not exist"):
        run.collector.probe()
    with pytest.raises(Unavailable):
        run.collector.read()


# -- server -----------------------------------------------------------------------


def test_server_exact_rates_and_threads_gauge(tmp_path):
    run = Run(tmp_path, Nfsd)
    first = run.step(server_text(), 100.0, 1000)
    assert first == ["host.nfsd.threads 8 1000"]
    ops4 = bump(S_V4OPS, i22=300, i25=7, i71=2)
    second = server_text(
        rc=bump(S_RC, i1=10, i2=100), stale=2, io=bump(S_IO, i0=1048576), threads=16,
        net=bump(S_NET, i0=110, i2=110), rpc=bump(S_RPC, i0=110, i1=4, i3=4),
        v3=bump(S_V3, i1=50), v4=bump(S_V4, i1=100), v4ops=ops4, tail="wdeleg_getattr 3\n",
    )
    got = values(run.step(second, 102.0, 1002), 1002)
    assert len(got) == 3 + 1 + 2 + 1 + 4 + 5 + 18 + 22 + 2 + 72
    per_op = ("host.nfsd.v2.", "host.nfsd.v3.", "host.nfsd.v4ops.")
    head = {k: v for k, v in got.items() if not k.startswith(per_op)}
    assert head == {
        "host.nfsd.rc.hits": "0", "host.nfsd.rc.misses": "5", "host.nfsd.rc.nocache": "50",
        "host.nfsd.fh.stale": "1",
        "host.nfsd.io.read_bytes": "524288", "host.nfsd.io.write_bytes": "0",
        "host.nfsd.threads": "16",
        "host.nfsd.net.packets": "55", "host.nfsd.net.udp": "0", "host.nfsd.net.tcp": "55",
        "host.nfsd.net.tcpconn": "0",
        "host.nfsd.rpc.calls": "55", "host.nfsd.rpc.badcalls": "2", "host.nfsd.rpc.badfmt": "0",
        "host.nfsd.rpc.badauth": "2", "host.nfsd.rpc.badclnt": "0",
        "host.nfsd.v4.null": "0", "host.nfsd.v4.compound": "50",
    }
    v4ops = {k[len("host.nfsd.v4ops."):]: v for k, v in got.items() if k.startswith("host.nfsd.v4ops.")}
    assert set(v4ops) == set(SERVER_V4OPS[:72])
    assert {k: v for k, v in v4ops.items() if v != "0"} == {"putfh": "150", "read": "3.5", "clone": "1"}
    assert got["host.nfsd.v3.getattr"] == "25"
    assert {k for k in got if k.startswith("host.nfsd.v2.")} == {f"host.nfsd.v2.{n}" for n in V2}


def test_server_raw_counters(tmp_path):
    run = Run(tmp_path, Nfsd, counters="raw")
    got = values(run.step(server_text(), 100.0, 1000), 1000)
    assert got["host.nfsd.threads"] == "8"
    assert "host.nfsd.threads_total" not in got
    assert got["host.nfsd.io.read_bytes_total"] == "157286400"
    assert got["host.nfsd.v4ops.putfh_total"] == "9609"
    assert got["host.nfsd.v4.compound_total"] == "10853"
    assert got["host.nfsd.rc.nocache_total"] == "18622"
    assert got["host.nfsd.fh.stale_total"] == "0"
    assert all(k.endswith("_total") for k in got if k != "host.nfsd.threads")
    assert len(got) == 1 + 3 + 1 + 2 + 4 + 5 + 18 + 22 + 2 + 72


@pytest.mark.parametrize("n", [39, 40, 59, 72])
def test_server_captures_give_every_op(tmp_path, n):
    run = Run(tmp_path, Nfsd)
    text = (FIX / f"procfs-nfs-cases/nfsd.good_file_proc4ops_{n}").read_text()
    run.step(text, 100.0, 1000)
    got = values(run.step(text, 101.0, 1001), 1001)
    assert {k for k in got if k.startswith("host.nfsd.v4ops.")} == {
        f"host.nfsd.v4ops.{name}" for name in SERVER_V4OPS[:n]
    }
    assert got["host.nfsd.threads"] in ("8", "1024")


def test_server_76_ops_and_unknown_beyond(tmp_path):
    run = Run(tmp_path, Nfsd)
    v78 = S_V4OPS + [0] * 6
    run.step(server_text(v4ops=v78, tail="wdeleg_getattr 1\nfuture 1 2\n"), 100.0, 1000)
    got = values(run.step(server_text(v4ops=bump(v78, i75=4, i77=6)), 102.0, 1002), 1002)
    assert got["host.nfsd.v4ops.removexattr"] == "2"
    assert got["host.nfsd.v4ops.op77"] == "3"
    assert got["host.nfsd.v4ops.op76"] == "0"


def test_server_schemas_per_instance(tmp_path):
    run = Run(tmp_path, Nfsd)
    run.step(server_text(), 100.0, 1000)
    c = run.collector
    threads = c.schema(None)
    assert [(m.key, m.kind) for m in threads.metrics] == [("threads", GAUGE)]
    assert threads.counters == frozenset()
    assert [m.key for m in c.schema("fh").metrics] == ["stale"]
    assert [m.unit for m in c.schema("io").metrics] == ["B/s", "B/s"]
    s = c.schema("v4ops")
    run.step(server_text(), 101.0, 1001)
    assert c.schema("v4ops") is s and c.schema(None) is threads


def test_server_disappearing_file(tmp_path):
    run = Run(tmp_path, Nfsd)
    run.step(server_text(), 100.0, 1000)
    (run.proc / "net/rpc/nfsd").unlink()
    with pytest.raises(Unavailable, match="net/rpc/nfsd does not exist"):
        run.collector.probe()
    with pytest.raises(Unavailable):
        run.collector.read()


def test_reference_schemas_have_unique_keys():
    for cls, v4 in ((Nfs, CLIENT_V4), (Nfsd, ["null", "compound"])):
        ref = cls.reference()
        assert [m.key for m in ref["v4"].metrics] == list(v4)
        for inst, schema in ref.items():
            keys = [m.key for m in schema.metrics]
            assert len(keys) == len(set(keys)), inst
            assert all(m.source in schema.fields for m in schema.metrics)
    assert [m.key for m in Nfsd.reference()["v4ops"].metrics] == SERVER_V4OPS


# -- the agent ------------------------------------------------------------------------


def test_registry_has_both_after_fs():
    names = list(REGISTRY)
    assert REGISTRY["nfs"] is Nfs and REGISTRY["nfsd"] is Nfsd
    assert names.index("fs") < names.index("nfs") < names.index("nfsd")


def test_agent_on_the_procfs_capture():
    config = build(None, {
        "proc_root": str(FIX / "procfs"), "collectors": "nfs,nfsd", "hostname": "host", "counters": "both",
    })
    now = [100.0]
    agent = Agent(config, monotonic=lambda: now[0], health=False)
    assert agent.enabled == ["nfs", "nfsd"]
    agent.cycle(1000)
    now[0] = 110.0
    result = agent.cycle(1010)
    got = values(result.data.decode().splitlines(), 1010)
    want = set()
    for group, inst, keys in [
        ("nfs", "net", ["packets", "udp", "tcp", "tcpconn"]),
        ("nfs", "rpc", ["calls", "retrans", "authrefresh"]),
        ("nfs", "v2", V2), ("nfs", "v3", V3), ("nfs", "v4", CLIENT_V4[:61]),
        ("nfsd", "rc", ["hits", "misses", "nocache"]), ("nfsd", "fh", ["stale"]),
        ("nfsd", "io", ["read_bytes", "write_bytes"]),
        ("nfsd", "net", ["packets", "udp", "tcp", "tcpconn"]),
        ("nfsd", "rpc", ["calls", "badcalls", "badfmt", "badauth", "badclnt"]),
        ("nfsd", "v2", V2), ("nfsd", "v3", V3), ("nfsd", "v4", ["null", "compound"]),
        ("nfsd", "v4ops", SERVER_V4OPS[:72]),
    ]:
        for k in keys:
            want |= {f"host.{group}.{inst}.{k}", f"host.{group}.{inst}.{k}_total"}
    want.add("host.nfsd.threads")
    assert set(got) == want
    assert result.lines == len(want)
    assert got["host.nfsd.threads"] == "8"
    assert got["host.nfs.v3.getattr"] == "0"
    assert got["host.nfs.v3.getattr_total"] == "4084749"
    assert got["host.nfsd.v4ops.putfh_total"] == "9609"
    assert got["host.nfs.v4.offload_cancel_total"] == "0"


def test_agent_disables_both_without_nfs(tmp_path, caplog):
    (tmp_path / "net").mkdir()
    config = build(None, {"proc_root": str(tmp_path), "collectors": "nfs,nfsd", "hostname": "host"})
    with caplog.at_level(logging.INFO, logger="carbon_client"):
        agent = Agent(config, health=False)
        assert agent.enabled == []
        agent.cycle(1000)
        agent.cycle(1010)
    disabled = [r.getMessage() for r in caplog.records if "disabled" in r.getMessage()]
    assert len(disabled) == 2
    assert "collector nfs disabled" in disabled[0] and "net/rpc/nfs does not exist" in disabled[0]
    assert "collector nfsd disabled" in disabled[1]
