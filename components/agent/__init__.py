"""The reference JS7 Agent: runs jobs, keeps its own journal, works on while
no Controller is connected, and never connects to a Controller itself."""
