"""The columnar path (many NICs) gives exactly the lines the per-instance path gives."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from carbon_client.collectors.devices import Net
from carbon_client.config import build
from carbon_client.lines import LineFormatter
from carbon_client.naming import DefaultLayout
from carbon_client.sampling import Sampler
from carbon_client.source import Source
from tests.collectors.test_core import netdev


class NetMapping(Net):
    """The same collector handing the engine a mapping instead of Columns."""

    def read(self):
        return super().read().as_mapping()


def snapshots():
    name = st.sampled_from(["eth0", "eth1", "lo", "veth01", "veth02", "flannel.1", "docker0"])
    counts = st.tuples(*[st.integers(0, 10**12)] * 8)
    return st.lists(st.dictionaries(name, counts, min_size=1, max_size=7), min_size=2, max_size=5)


@settings(max_examples=120, deadline=None)
@given(snapshots(), st.lists(st.floats(0.5, 3.0), min_size=5, max_size=5))
def test_columns_and_mapping_render_the_same_lines(tmp_path_factory, snaps, gaps):
    root = tmp_path_factory.mktemp("proc")
    (root / "net").mkdir()
    config = build(None, {"proc_root": str(root)})
    outputs = []
    for cls in (Net, NetMapping):
        c = cls(Source(str(root), str(root / "nosys")), config)
        sampler, fmt = Sampler(c), LineFormatter(DefaultLayout("h"), "rate")
        t, text = 100.0, []
        for i, snap in enumerate(snaps):
            (root / "net" / "dev").write_text(netdev(snap))
            out: list = []
            fmt.render("net", sampler, sampler.update(c.read(), t), 1000 + i, out)
            text.append(sorted("".join(out).splitlines()))
            t += gaps[i]
        outputs.append(text)
    assert outputs[0] == outputs[1]
