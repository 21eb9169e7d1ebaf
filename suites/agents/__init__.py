"""AGT-*: Agents work on without a Controller and never connect to one."""
