# ruff: noqa: E501, RUF001 - HTML template: long lines and typographic characters are content
"""The HTML report's jinja2 template, kept in a module so an installed (not
editable) package carries it. One file: inline CSS, a little inline script,
inline SVG; no network, no CDN — it must open from disk."""

REPORT = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>js7ha conformance report {{ run.run_id }}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:16px 28px}
header h1{margin:0;font-size:20px}
header .sub{color:#b9c0cc;font-size:13px}
main{padding:18px 28px;max-width:1200px}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:14px 18px;margin:0 0 16px}
h2{font-size:16px;margin:0 0 10px}
table{border-collapse:collapse}
th,td{border-bottom:1px solid #e6e8ec;padding:4px 10px;text-align:left;vertical-align:top}
th{font-weight:600;background:#fafbfc}
.held{color:#1d7a3b}.broken{color:#c0262d}.unknown{color:#a46b00}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:600;color:#fff}
.badge.held{background:#2e9d4f}.badge.broken{background:#d0343a}.badge.unknown{background:#d39a14}
.cell{display:inline-block;width:16px;height:16px;border-radius:3px}
.cell.held{background:#2e9d4f}.cell.broken{background:#d0343a}.cell.unknown{background:#e3b341}
.banner{font-size:18px;font-weight:600;padding:10px 14px;border-radius:6px;margin-bottom:16px}
.banner.held{background:#e3f4e8}.banner.broken{background:#fbe4e5}.banner.unknown{background:#fdf3d8}
.counts span{margin-right:18px;font-size:16px}
blockquote{margin:6px 0;padding:6px 12px;border-left:4px solid #c5cbd6;background:#f7f8fa;font-style:italic}
pre{background:#f3f4f6;padding:8px;overflow:auto;max-height:360px;font-size:12px;white-space:pre-wrap}
.muted{color:#6b7384}
details.test{border-top:1px solid #e6e8ec;padding:6px 0}
details > summary{cursor:pointer}
.g{scroll-margin-top:10px}
.filters button{margin-right:6px}
svg.timeline{background:#fcfcfd;border:1px solid #e6e8ec;max-width:100%;height:auto}
.kv td:first-child{color:#6b7384;white-space:nowrap}
</style>
</head>
<body>
<header>
<h1>js7ha conformance report</h1>
<div class="sub">run {{ run.run_id }} · backend {{ run.options.backend }} · profile {{ run.options.profile }} · seed {{ run.options.seed }}{% if run.rechecked %} · re-rendered {{ run.rechecked }}{% endif %}</div>
</header>
<main>
<div class="banner {{ 'held' if view.held else ('broken' if view.totals.broken else 'unknown') }}" id="verdict">
{% if view.held %}Every selected guarantee held.{% else %}Not every selected guarantee held: {{ view.totals.broken }} broken, {{ view.totals.unknown }} unknown.{% endif %}
</div>

<section id="summary">
<h2>Summary</h2>
<div class="counts">
<span class="held">held <b id="count-held">{{ view.totals.held }}</b></span>
<span class="broken">broken <b id="count-broken">{{ view.totals.broken }}</b></span>
<span class="unknown">unknown <b id="count-unknown">{{ view.totals.unknown }}</b></span>
<span class="muted">tests {{ view.tests|length }}, failing {{ view.failing_tests|length }}</span>
</div>
{% set over = view.guarantees|selectattr('carries_over')|list %}
{% set checked = view.guarantees|rejectattr('status', 'equalto', 'not-yet-checked')|list %}
<p class="muted" id="carry-over">Verdicts that would carry over unchanged to a real JS7 (the suites use JS7's public APIs and the harness's own observations only): <b>{{ over|length }}</b> of {{ checked|length }} checked guarantees{% if over %} ({{ over|map(attribute='id')|join(', ') }}){% endif %}. The others name what they still need from the reference.</p>
<table>
<tr><th>system</th><th>held</th><th>broken</th><th>unknown</th></tr>
{% for sys, row in view.summary.items() %}
<tr data-system="{{ sys }}"><td>{{ systems.get(sys, sys) }}</td><td class="held">{{ row.held }}</td><td class="broken">{{ row.broken }}</td><td class="unknown">{{ row.unknown }}</td></tr>
{% endfor %}
</table>
</section>

<section id="matrix">
<h2>Guarantees × fault kinds</h2>
<p class="muted">A cell is the verdict of the guarantee's tests whose history holds that kind of fault window.</p>
<table>
<tr><th>guarantee</th><th>verdict</th>{% for k in view.fault_kinds %}<th>{{ k }}</th>{% endfor %}</tr>
{% for g in view.guarantees %}
<tr><td><a href="#g-{{ g.id }}">{{ g.id }}</a></td><td><span class="badge {{ g.verdict }}">{{ g.verdict }}</span></td>
{% for k in view.fault_kinds %}<td>{% if k in g.fault_kinds %}<span class="cell {{ g.fault_kinds[k] }}" title="{{ g.id }} under {{ k }}: {{ g.fault_kinds[k] }}"></span>{% endif %}</td>{% endfor %}</tr>
{% endfor %}
</table>
</section>

<section id="guarantees">
<h2>Guarantees</h2>
<div class="filters">show:
<button type="button" data-filter="all">all</button><button type="button" data-filter="broken">broken</button><button type="button" data-filter="unknown">unknown</button><button type="button" data-filter="held">held</button>
</div>
{{ legend|safe }}
{% for g in view.guarantees %}
<div class="g" id="g-{{ g.id }}" data-verdict="{{ g.verdict }}" data-system="{{ g.system }}">
<h3><span class="badge {{ g.verdict }}">{{ g.verdict }}</span> {{ g.id }} — {{ g.title }}</h3>
<blockquote>“{{ g.quote }}” <span class="muted">— seed {{ g.seeds|join(', ') }}</span></blockquote>
<table class="kv">
<tr><td>system</td><td>{{ g.system_title }} ({{ g.component }})</td></tr>
<tr><td>why</td><td>{{ g.reason }}</td></tr>
<tr><td>documented</td><td>{{ g.documented }}{% if g.documented_bound_s is not none %} ({{ g.documented_bound_s }} s){% endif %}</td></tr>
<tr><td>reference target</td><td>{{ g.reference }}{% if g.reference_bound_s is not none %} ({{ g.reference_bound_s }} s){% endif %}</td></tr>
<tr><td>against a real JS7</td><td>{% if g.status == 'not-yet-checked' %}no suite checks it yet{% elif g.needs %}<span class="unknown">would not carry over as is</span>: {{ g.needs|join('; ') }}{% else %}the same verdict (JS7's public APIs and the harness's own observations only){% if g.extras %}, without the checks made only where offered: {{ g.extras|join('; ') }}{% endif %}{% endif %}</td></tr>
<tr><td>bound this run</td><td>{% if g.profile_bound_s is not none %}{{ g.profile_bound_s }} s (profile {{ run.options.profile }}){% else %}—{% endif %}</td></tr>
<tr><td>measured</td><td>{% if g.figures.failover_count %}fail-over seconds p50 {{ '%.3f'|format(g.figures.p50) }} · p99 {{ '%.3f'|format(g.figures.p99) }} · max {{ '%.3f'|format(g.figures.max) }} ({{ g.figures.failover_count }} windows) · {% endif %}lost {{ g.figures.lost }} · duplicated {{ g.figures.duplicated }}</td></tr>
</table>
{% for nodeid in g.tests %}{% set t = tests_by_id[nodeid] %}
<details class="test" {% if t.verdict != 'held' %}open{% endif %} data-test-verdict="{{ t.verdict }}">
<summary><span class="{{ t.verdict }}">{{ t.verdict }}</span> <code>{{ t.nodeid }}</code> <span class="muted">{{ t.outcome }} · {{ '%.1f'|format(t.duration or 0) }} s · {{ t.reason }}</span></summary>
{% if t.measurements %}<table class="kv">{% for k, v in t.measurements.items() %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endfor %}</table>{% endif %}
{% if t.timeline %}{{ t.timeline|safe }}{% endif %}
{% if t.faults %}<div class="muted">faults: {% for f in t.faults %}{{ f.name }} {{ '%.2f'|format(f.start) }}s→{% if f.stop is not none %}{{ '%.2f'|format(f.stop) }}s{% else %}never healed{% endif %}{% if not loop.last %}; {% endif %}{% endfor %}</div>{% endif %}
{% if t.checks %}<table><tr><th>check</th><th>valid</th><th>details</th></tr>
{% for c in t.checks %}<tr><td>{{ c.name }}</td><td class="{{ 'held' if c.valid is sameas true else ('broken' if c.valid is sameas false else 'unknown') }}">{{ c.valid }}</td><td class="muted">{{ c.summary }}</td></tr>{% endfor %}</table>{% endif %}
{% if t.rechecks %}<table><tr><th>re-check (current checkers)</th><th>valid</th><th>recorded</th><th>details</th></tr>
{% for r in t.rechecks %}<tr><td>{{ r.name }}{% if r.differs %} <b class="broken">differs</b>{% endif %}</td><td>{{ r.valid }}</td><td>{{ r.recorded if r.comparable else '—' }}</td><td class="muted">{{ r.summary }}</td></tr>{% endfor %}</table>{% endif %}
{% if t.verdict != 'held' and t.longrepr %}<div>explanation:</div><pre>{{ t.longrepr }}</pre>{% endif %}
{% for name, tail in t.logs.items() %}<details><summary>log tail: {{ name }}</summary><pre>{{ tail }}</pre></details>{% endfor %}
{% if t.artifacts %}<div class="muted">artifacts: <a href="{{ t.artifacts }}/">{{ t.artifacts }}</a>{% if t.history_file %} · <a href="{{ t.history_file }}">history.jsonl</a>{% endif %}</div>{% endif %}
</details>
{% endfor %}
</div>
{% endfor %}
</section>

<section id="environment">
<h2>Environment</h2>
<table class="kv">
{% for k, v in run.environment.items() %}<tr><td>{{ k }}</td><td>{% if v is mapping %}{% for kk, vv in v.items() %}{{ kk }} {{ vv }}{% if not loop.last %}, {% endif %}{% endfor %}{% else %}{{ v }}{% endif %}</td></tr>{% endfor %}
<tr><td>backend / profile / seed</td><td>{{ run.options.backend }} / {{ run.options.profile }} / {{ run.options.seed }}</td></tr>
<tr><td>selection</td><td>{{ run.options.selection }}</td></tr>
<tr><td>started / finished</td><td>{{ run.started }} / {{ run.finished }}</td></tr>
</table>
</section>
</main>
<script>
document.querySelectorAll('.filters button').forEach(function (b) {
  b.addEventListener('click', function () {
    var f = b.getAttribute('data-filter');
    document.querySelectorAll('#guarantees .g').forEach(function (g) {
      g.style.display = (f === 'all' || g.getAttribute('data-verdict') === f) ? '' : 'none';
    });
  });
});
</script>
</body>
</html>
"""
