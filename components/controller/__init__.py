"""The reference JS7 Controller: orders on workflows, its own journal, and a
driver per Agent that attaches and detaches orders and mirrors the Agents'
events into the Controller's journal."""
