"""complaintflow: an event-driven workflow engine for customer complaints.

The project's top-level folders (engine/, workflows/, consumers/, producers/, state_store/)
are this package's subpackages; see the README's layout section.
"""

__version__ = "0.1.0"
