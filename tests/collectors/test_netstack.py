"""pressure, netstat, sockstat, softnet and conntrack on two snapshots of a fake /proc in tmp_path:
exact rates, resets, instances appearing and vanishing, missing sources. Expected numbers are
worked out from the captures and the format notes (../shared/formats/wave2.md), not from the code."""

from __future__ import annotations

import shutil

import pytest

from carbon_client.collectors.basic import PAGE_SIZE
from carbon_client.collectors.netstack import Conntrack, Sockstat, Softnet
from carbon_client.collectors.netstat import DEFAULT, Netstat
from carbon_client.collectors.pressure import Pressure
from carbon_client.config import build
from carbon_client.lines import Renderer
from carbon_client.metrics import Unavailable
from carbon_client.naming import DefaultLayout
from carbon_client.sampling import Sampler
from tests.collectors.test_core import Root, two_samples, values_by_key
from tests.conftest import FIXTURES

LIVE = FIXTURES / "wave2" / "procfs-live-vm618" / "proc"


def capture(rel: str, root: str = "procfs-live-vm618") -> str:
    return (FIXTURES / "wave2" / root / "proc" / rel).read_text()


@pytest.fixture
def root(tmp_path):
    return Root(tmp_path)


# -- pressure --------------------------------------------------------------------------------


def psi(some=None, full=None) -> str:
    out = ""
    for kind, v in (("some", some), ("full", full)):
        if v is not None:
            a, b, c, t = v
            out += f"{kind} avg10={a:.2f} avg60={b:.2f} avg300={c:.2f} total={t}\n"
    return out


def test_pressure_rates_in_percent_of_the_interval(root):
    for r in ("cpu", "io", "memory"):
        root.write(f"pressure/{r}", capture(f"pressure/{r}"))
    p = Pressure(root.source())
    p.probe()

    def second():
        # +500000 us of cpu "some" stall in 2 s: 250000 us/s = 25 % of the time
        root.write("pressure/cpu", psi((40.0, 20.0, 5.0, 30545142 + 500000), (0, 0, 0, 0)))
        # io full +20000 us in 2 s: 1 %; io some +40000: 2 %
        root.write("pressure/io", psi((1.0, 0.5, 0.25, 10285177 + 40000), (0.5, 0.25, 0.1, 8555143 + 20000)))

    _, out = two_samples(p, lambda: None, second, root)
    assert set(out.values) == {"cpu", "io", "memory"}
    cpu = values_by_key(out, "cpu")
    assert cpu == {"some.avg10": 40.0, "some.avg60": 20.0, "some.avg300": 5.0, "some.total": pytest.approx(25.0),
                   "full.avg10": 0.0, "full.avg60": 0.0, "full.avg300": 0.0, "full.total": 0}
    io = values_by_key(out, "io")
    assert io["some.total"] == pytest.approx(2.0) and io["full.total"] == pytest.approx(1.0)
    assert values_by_key(out, "memory")["full.total"] == 0  # memory never stalled in the capture
    lines = []
    Renderer(DefaultLayout("host1")).render(out, 1000, lines)
    assert "host1.pressure.cpu.some.total 25 1000\n" in lines
    assert "host1.pressure.io.full.avg10 0.5 1000\n" in lines


def test_pressure_kernel_variants(root):
    # 4.20-5.12: cpu has only "some"; 6.1+ with irq accounting: irq has only "full"
    for r in ("cpu", "io", "memory"):
        root.write(f"pressure/{r}", capture(f"pressure/{r}", "procfs-pcp-psi-cpusome"))
    p = Pressure(root.source())
    p.probe()
    raw = p.read()
    assert set(raw) == {"cpu", "io", "memory"}
    assert p.schema("cpu").fields == ("some.avg10", "some.avg60", "some.avg300", "some.total")
    assert raw["cpu"] == (2.04, 0.75, 0.42, 157656722)  # "some avg10=2.04 avg60=0.75 avg300=0.42 total=157656722"
    assert len(raw["memory"]) == 8
    root.write("pressure/irq", capture("pressure/irq", "procfs-pcp-psi-cpufull-irq"))
    p.probe()  # the agent probes again when a collector is re-enabled
    assert p.read()["irq"] == (0.0, 0.0, 0.0, 100648410)
    assert p.schema("irq").fields == ("full.avg10", "full.avg60", "full.avg300", "full.total")
    lines = []
    Renderer(DefaultLayout("h")).render(Sampler(p).update(p.read(), 1.0), 5, lines)
    assert "h.pressure.irq.full.avg300 0.0 5\n" in lines and not [ln for ln in lines if "irq.some" in ln]


def test_pressure_counter_going_backwards_voids_that_rate_only(root):
    root.write("pressure/cpu", psi((1.0, 1.0, 1.0, 1000000)))
    p = Pressure(root.source())
    p.probe()
    _, out = two_samples(p, lambda: None, lambda: root.write("pressure/cpu", psi((2.0, 1.5, 1.0, 10))), root)
    assert values_by_key(out, "cpu") == {"some.avg10": 2.0, "some.avg60": 1.5, "some.avg300": 1.0,
                                         "some.total": None}


def test_pressure_missing_or_disabled(root):
    p = Pressure(root.source())
    with pytest.raises(Unavailable, match="pressure does not exist"):
        p.probe()
    # psi=0 on 4.20-5.x kernels: the files are there but every read fails (EOPNOTSUPP);
    # a directory in their place fails the read the same way
    for r in ("cpu", "io", "memory"):
        (root.proc / "pressure" / r).mkdir(parents=True)
    with pytest.raises(Unavailable, match="PSI disabled"):
        p.probe()


# -- netstat ---------------------------------------------------------------------------------


def set_field(text: str, table: str, field: str, value: int) -> str:
    """``text`` (snmp/netstat pairs, or snmp6 lines) with one value replaced."""
    lines = text.split("\n")
    if ":" not in text:  # snmp6
        return "\n".join(f"{ln.split()[0]}\t{value}" if ln.split() and ln.split()[0] == table + field else ln
                         for ln in lines)
    for i in range(0, len(lines) - 1, 2):
        names, values = lines[i].split(), lines[i + 1].split()
        if names[0] == table + ":":
            values[names.index(field)] = str(value)
            lines[i + 1] = " ".join(values)
    return "\n".join(lines)


def netstat_root(root, kernel="procfs-live-vm618"):
    for rel in ("net/snmp", "net/netstat", "net/snmp6"):
        if (FIXTURES / "wave2" / kernel / "proc" / rel).exists():
            root.write(rel, capture(rel, kernel))


def test_netstat_default_selection_rates_and_gauges(root):
    netstat_root(root)
    n = Netstat(root.source(), build())
    snmp, netstat, snmp6 = (capture(r) for r in ("net/snmp", "net/netstat", "net/snmp6"))

    def second():
        s = set_field(snmp, "Tcp", "RetransSegs", 338 + 20)      # 10/s over 2 s
        s = set_field(s, "Tcp", "CurrEstab", 5)                  # a gauge: 5 as read
        s = set_field(s, "Udp", "RcvbufErrors", 0 + 7)           # 3.5/s
        root.write("net/snmp", s)
        x = set_field(netstat, "TcpExt", "ListenDrops", 38 + 6)  # 3/s
        x = set_field(x, "IpExt", "InOctets", 1529663210 + 3000)  # 1500 B/s
        root.write("net/netstat", x)
        root.write("net/snmp6", set_field(snmp6, "Ip6", "OutOctets", 9149 + 100))  # 50 B/s

    _, out = two_samples(n, lambda: None, second, root)
    assert set(out.values) == {"ip", "icmp", "tcp", "udp", "tcpext", "ipext", "ip6", "udp6"}
    tcp = values_by_key(out, "tcp")
    assert tcp["RetransSegs"] == pytest.approx(10.0) and tcp["CurrEstab"] == 5 and tcp["InSegs"] == 0
    assert values_by_key(out, "udp")["RcvbufErrors"] == pytest.approx(3.5)
    assert values_by_key(out, "tcpext")["ListenDrops"] == pytest.approx(3.0)
    assert values_by_key(out, "ipext") == {"InOctets": pytest.approx(1500.0), "OutOctets": 0}
    assert values_by_key(out, "ip6")["OutOctets"] == pytest.approx(50.0)
    # every default field this kernel prints, and nothing else
    sent = {(inst, k) for inst in out.values for k in values_by_key(out, inst)}
    assert sent == {(t.lower(), f) for t, f in DEFAULT}
    lines = []
    Renderer(DefaultLayout("host1")).render(out, 1000, lines)
    assert "host1.netstat.tcpext.ListenDrops 3 1000\n" in lines
    assert "host1.netstat.tcp.CurrEstab 5 1000\n" in lines


def test_netstat_old_kernel_sends_what_it_prints(root):
    netstat_root(root, "procfs-pcp-2.6.32")
    n = Netstat(root.source(), build())
    raw = n.read()
    # 2.6.32 has no Tcp/Udp InCsumErrors and no netstat file here
    assert n.schema("tcp").fields == ("ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets", "CurrEstab",
                                      "InSegs", "OutSegs", "RetransSegs", "InErrs", "OutRsts")
    # "Tcp: 1 200 120000 -1 718 137 4 456 10 118656 137778 773 0 42"
    assert raw["tcp"] == (718, 137, 4, 456, 10, 118656, 137778, 773, 0, 42)
    assert "tcpext" not in raw and set(n.schema("udp").fields) == {
        "InDatagrams", "OutDatagrams", "NoPorts", "InErrors", "RcvbufErrors", "SndbufErrors"}


def test_netstat_all_and_globs(root):
    netstat_root(root)
    every = Netstat(root.source(), build(None, {"netstat_fields": "all"})).read()
    # header fields counted in the 6.18 capture: snmp 20+29+1+15+9+9, netstat 135+18+76, snmp6 33+40+9+8
    assert sum(len(v) for v in every.values()) == 83 + 229 + 90
    assert every["tcp"][3] == -1  # MaxConn, printed signed
    picked = Netstat(root.source(), build(None, {"netstat_fields": ["Tcp.Retrans*", "tcpext.TCPAbortOn*", "Nope.*"]}))
    raw = picked.read()
    assert set(raw) == {"tcp", "tcpext"}
    assert picked.schema("tcp").fields == ("RetransSegs",)
    assert picked.schema("tcpext").fields == (
        "TCPAbortOnData", "TCPAbortOnClose", "TCPAbortOnMemory", "TCPAbortOnTimeout", "TCPAbortOnLinger")
    # live TcpExt: TCPAbortOnData 171, OnClose 39, OnMemory 0, OnTimeout 7, OnLinger 0
    assert raw["tcpext"] == (171, 39, 0, 7, 0)
    both = Netstat(root.source(), build(None, {"netstat_fields": "default,TcpExt.TCPSackRecovery"})).read()
    assert len(both["tcpext"]) == len([1 for t, _ in DEFAULT if t == "TcpExt"]) + 1


def test_netstat_columns_are_mapped_by_name(root):
    # A kernel upgrade under a running agent (or a container moved between hosts): a column
    # appears in the middle of Udp. NoPorts is read from its new position, so its rate is right.
    root.write("net/snmp", "Udp: InDatagrams NoPorts InErrors\nUdp: 10 2 1\n")
    n = Netstat(root.source(), build())
    _, out = two_samples(n, lambda: None, lambda: root.write(
        "net/snmp", "Udp: InDatagrams IgnoredMulti NoPorts InErrors\nUdp: 30 999 4 1\n"), root)
    assert values_by_key(out, "udp") == {"InDatagrams": pytest.approx(10.0), "NoPorts": pytest.approx(1.0),
                                         "InErrors": 0}
    # With every field sent the table's fields changed: its history starts afresh (no rate yet).
    every = Netstat(root.source(), build(None, {"netstat_fields": "all"}))
    _, out = two_samples(every, lambda: root.write("net/snmp", "Udp: InDatagrams NoPorts InErrors\nUdp: 10 2 1\n"),
                         lambda: root.write("net/snmp", "Udp: InDatagrams IgnoredMulti NoPorts InErrors\n"
                                                        "Udp: 30 999 4 1\n"), root)
    assert values_by_key(out, "udp") == {"InDatagrams": None, "IgnoredMulti": None, "NoPorts": None,
                                         "InErrors": None}


def test_netstat_reset_and_missing_sources(root):
    root.write("net/snmp", "Tcp: InSegs OutSegs\nTcp: 100 100\n")
    n = Netstat(root.source(), build())
    _, out = two_samples(n, lambda: None, lambda: root.write("net/snmp", "Tcp: InSegs OutSegs\nTcp: 50 120\n"), root)
    assert values_by_key(out, "tcp") == {"InSegs": None, "OutSegs": pytest.approx(10.0)}
    (root.proc / "net" / "snmp").unlink()
    with pytest.raises(Unavailable, match="snmp does not exist"):
        n.probe()


def test_netstat_bad_pair_costs_that_table(root, caplog):
    root.write("net/snmp", "Ip: Forwarding InReceives\nIp: 1\nTcp: InSegs\nTcp: 4\n")
    n = Netstat(root.source(), build())
    assert n.read() == {"tcp": (4,)}
    assert "net/snmp: skipping malformed line" in caplog.text


# -- sockstat --------------------------------------------------------------------------------


def test_sockstat_gauges_pages_to_bytes_and_v6(root):
    root.write("net/sockstat", capture("net/sockstat", "procfs-pcp-sockstat"))
    s = Sockstat(root.source())
    _, out = two_samples(s, lambda: None,
                         lambda: root.write("net/sockstat6", capture("net/sockstat6", "procfs-pcp-sockstat")), root)
    # "TCP: inuse 74 orphan 9 tw 0 alloc 86 mem 13": 13 pages
    assert values_by_key(out, "tcp") == {"inuse": 74, "orphan": 9, "tw": 0, "alloc": 86, "mem": 13 * PAGE_SIZE}
    assert values_by_key(out, "sockets") == {"used": 1866}
    assert values_by_key(out, "frag") == {"inuse": 0, "memory": 0}
    # sockstat6 appeared in the second read: "TCP6: inuse 10", "RAW6: inuse 1"
    assert values_by_key(out, "tcp6") == {"inuse": 10} and values_by_key(out, "raw6") == {"inuse": 1}
    lines = []
    Renderer(DefaultLayout("host1")).render(out, 1000, lines)
    assert f"host1.sockstat.tcp.mem {13 * PAGE_SIZE} 1000\n" in lines
    assert "host1.sockstat.udp6.inuse 10 1000\n" in lines


def test_sockstat_missing(root):
    with pytest.raises(Unavailable, match="sockstat does not exist"):
        Sockstat(root.source()).probe()


# -- softnet ---------------------------------------------------------------------------------


def softnet(rows: dict[int, tuple[int, int, int]], width: int = 15) -> str:
    out = []
    for cpu, (processed, dropped, squeeze) in rows.items():
        cols = [processed, dropped, squeeze] + [0] * 9 + [cpu, 0, 0]
        out.append(" ".join(f"{v:08x}" for v in cols[:width]))
    return "\n".join(out) + "\n"


def test_softnet_summed_and_per_cpu(root):
    root.write("net/softnet_stat", capture("net/softnet_stat"))
    s = Softnet(root.source(), build(None, {"softnet_per_cpu": True}))
    # the capture: processed 0x16599 = 91545 (cpu0) and 0xf500 = 62720 (cpu1); 2 s later
    # cpu0 +2000 processed, +10 dropped, +4 squeezed; cpu1 +1000 processed
    _, out = two_samples(s, lambda: None, lambda: root.write("net/softnet_stat", softnet(
        {0: (91545 + 2000, 10, 4), 1: (62720 + 1000, 0, 0)})), root)
    assert values_by_key(out, None) == {"processed": pytest.approx(1500.0), "dropped": pytest.approx(5.0),
                                        "time_squeeze": pytest.approx(2.0), "received_rps": 0,
                                        "flow_limit_count": 0, "backlog": 0}
    assert values_by_key(out, "cpu0")["processed"] == pytest.approx(1000.0)
    assert values_by_key(out, "cpu1")["processed"] == pytest.approx(500.0)
    lines = []
    Renderer(DefaultLayout("host1")).render(out, 1000, lines)
    assert "host1.softnet.dropped 5 1000\n" in lines and "host1.softnet.cpu1.processed 500 1000\n" in lines


def test_softnet_old_kernel_and_sum_only_by_default(root):
    root.write("net/softnet_stat", capture("net/softnet_stat", "procfs-sysstat-root1"))
    s = Softnet(root.source(), build())
    raw = s.read()
    # 11 columns, 9 CPUs: processed summed by hand from the hex column
    total = sum(int(x, 16) for x in ("2ec8", "2970", "0f09", "104e3", "2de9", "3378", "546e", "4958", "22"))
    assert raw == {None: (total, 0, 0, 0, 0, None)}


def test_softnet_cpus_churning_are_forgotten(root):
    root.write("net/softnet_stat", softnet({0: (1, 0, 0)}))
    s = Softnet(root.source(), build(None, {"softnet_per_cpu": True}))
    sampler = Sampler(s)
    renderer = Renderer(DefaultLayout("h"))
    for k in range(1, 50):
        # a different CPU id online every cycle, and the sum changing with it
        root.write("net/softnet_stat", softnet({0: (100 * k, 0, 0), 1000 + k: (k, 0, 0)}))
        out = sampler.update(s.read(), float(k))
        renderer.render(out, k, [])
        assert values_by_key(out, f"cpu{1000 + k}")["processed"] is None  # a first sample
        if k > 1:
            assert values_by_key(out, "cpu0")["processed"] == pytest.approx(100.0)
    assert set(sampler._prev) == {None, "cpu0", "cpu1049"}
    assert set(renderer._plans["softnet"][2]) == {None, "cpu0", "cpu1049"}  # (names, components, plans)


def test_softnet_missing(root):
    with pytest.raises(Unavailable, match="softnet_stat does not exist"):
        Softnet(root.source()).probe()


# -- conntrack -------------------------------------------------------------------------------


def conntrack_stat(rows: list[dict[str, int]]) -> str:
    header = capture("net/stat/nf_conntrack").split("\n")[0]
    names = header.split()
    return header + "\n" + "".join(
        "  ".join([f"{r.get('entries', 0):08x}", " ".join(f"{r.get(n, 0):08x}" for n in names[1:])]) + "\n"
        for r in rows)


def test_conntrack_count_max_used_and_summed_counters(root):
    for rel in ("sys/net/netfilter/nf_conntrack_count", "sys/net/netfilter/nf_conntrack_max", "net/stat/nf_conntrack"):
        root.write(rel, capture(rel))
    c = Conntrack(root.source())
    c.probe()

    def second():
        root.write("sys/net/netfilter/nf_conntrack_count", "235930\n")  # of 262144: 90.0 %
        # drop: 6 on cpu0 and 4 on cpu1 in 2 s = 5/s; early_drop 2 = 1/s
        root.write("net/stat/nf_conntrack", conntrack_stat([
            {"entries": 235930, "drop": 6, "early_drop": 2}, {"entries": 235930, "drop": 4}]))

    _, out = two_samples(c, lambda: None, second, root)
    v = values_by_key(out, None)
    assert (v["count"], v["max"]) == (235930, 262144)
    assert v["used_percent"] == pytest.approx(235930 / 262144 * 100)  # 90.0002...
    assert v["drop"] == pytest.approx(5.0) and v["early_drop"] == pytest.approx(1.0) and v["insert"] == 0


def test_conntrack_old_path_without_stats(root):
    for f in ("ip_conntrack_count", "ip_conntrack_max"):
        src = FIXTURES / "wave2" / "procfs-diamond-oldpath" / "proc" / "sys" / "net" / "ipv4" / "netfilter" / f
        root.write(f"sys/net/ipv4/netfilter/{f}", src.read_text())
    c = Conntrack(root.source())
    c.probe()
    s = Sampler(c)
    out = s.update(c.read(), 1.0)
    v = values_by_key(out, None)
    # Diamond's capture: 33 of 36
    assert (v["count"], v["max"], v["used_percent"]) == (33, 36, pytest.approx(33 / 36 * 100))
    assert v["drop"] is None  # no net/stat/nf_conntrack: the counters are not sent


def test_conntrack_missing_and_unloaded(root):
    c = Conntrack(root.source())
    with pytest.raises(Unavailable, match="nf_conntrack"):
        c.probe()
    root.write("sys/net/netfilter/nf_conntrack_count", "1\n")
    root.write("sys/net/netfilter/nf_conntrack_max", "2\n")
    c.probe()
    shutil.rmtree(root.proc / "sys")  # modprobe -r nf_conntrack
    with pytest.raises(Unavailable, match="does not exist any more"):
        c.read()
