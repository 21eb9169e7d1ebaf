"""What the harness knows of each role it can start: ``harness/specs/<role>.py``
holds its ``SPEC`` (a ``harness.components.ComponentSpec``): the module to
run, its config files, its health path. The specs belong to the judge, not
the judged: a component never imports them, and they import no component.
"""
