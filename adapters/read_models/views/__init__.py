"""Read models: each module is one view, its tables and the events it handles."""
