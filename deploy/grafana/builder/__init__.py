"""Generates carbon-client's Grafana dashboards (deploy/grafana/dashboards/).

One module per job: ``panels`` (panel, target and grid helpers),
``variables`` (template variables), one module per few dashboards (``host``,
``devices``, ``nfs``, ``netstack``, ``services``), ``dashboard`` (the table of
dashboards and the JSON model) and ``cli`` (write or check the files).
Stdlib only.
"""
