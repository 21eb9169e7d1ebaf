"""AGT-SUBAGENT-*: a Director Agent spreads jobs over its Subagents as JS7 does."""
