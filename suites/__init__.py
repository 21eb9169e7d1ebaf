"""Conformance suites: one package per system (agents, events, controller,
joc, history, jobscheduler1), one test module per guarantee family, each test
marked with the guarantee ids of ``../shared/design/GUARANTEES.md`` it checks."""
