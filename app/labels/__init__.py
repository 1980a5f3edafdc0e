"""Label editing widgets: the mask layer and its tools, undo, adjudication view, findings queue."""
