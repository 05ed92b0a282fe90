"""Fan-out between nodes: committed events in, every node's hub out."""
